"""The search-history authenticator for the shared model-contract test: a generated AOL-format
log of 12 users over 40 days; Doc2Vec and the forest learn from the first 34 days (28 template
days + 6 labelled), the last 6 are held out (judged against templates from the days before)."""
import tempfile
from pathlib import Path

from transforms.common.days import span
from transforms.search_auth.features import features_from_log
from transforms.synthetic.search_auth_logs import generate
from transforms.search_auth.model import Authenticator
from transforms.search_auth.settings import SearchAuthSettings
from transforms.search_auth.training import gate_rule


def example():
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "log.txt")
        generate(path, n_users=12, n_days=40, start="2026-01-01", seed=3)
        features, _, _ = features_from_log(path, "Asia/Tokyo", 256)
    days = span("2026-01-01", 40)
    train = {"features": features[features["ds"] <= days[33]], "days": days[28:34]}
    test = {"features": features, "days": days[34:]}
    model = Authenticator(doc2vec_dims=16, doc2vec_epochs=5, trees=20)
    return model, train, test, gate_rule(SearchAuthSettings())
