"""The evaluation protocol on a small generated log with missing days (skip vs zero)."""
import numpy as np
import pytest

from transforms.search_auth import evaluation
from transforms.search_auth.features import features_from_log
from transforms.synthetic.search_auth_logs import generate


def test_protocol_counts_follow_the_missing_day_rule(tmp_path):
    log = tmp_path / "log.txt"
    generate(str(log), n_users=8, n_days=91, seed=4, p_active=0.8)
    features = features_from_log(str(log), "Asia/Tokyo", 256)[0]
    small = dict(trees=20, doc2vec_dims=16, doc2vec_epochs=5, doc2vec_workers=1)
    skip = evaluation.evaluate(features, "2026-01-01", evaluation.Protocol(missing="skip", **small))
    zero = evaluation.evaluate(features, "2026-01-01", evaluation.Protocol(missing="zero", **small))
    n = skip["users"]
    for name in evaluation.METHODS:
        z, s = zero["methods"][name], skip["methods"][name]
        # zero: every test day with a usable template is a request, for A and for every B alike
        assert 0.95 * n * (n - 1) * 35 <= z["TP"] + z["FN"] == z["FP"] + z["TN"] <= n * (n - 1) * 35
        assert s["TP"] + s["FN"] < z["TP"] + z["FN"]  # skip: days without searches are left out
        assert 0.6 < s["accuracy"] <= 1.0 and 0 <= s["impersonation_FAR"] <= 1
        assert np.isclose(sum(s["importances"].values()), 1.0, atol=1e-3)  # rounded to 4 places
    with pytest.raises(ValueError, match="min_active_days"):
        evaluation.evaluate(features, "2026-01-01", evaluation.Protocol(min_active_days=92, **small))
    table = evaluation.thesis_table(skip)
    assert "thesis (per-pair RF, 4 features)" in table and "missing days: skip" in table
    files = evaluation.write_report(skip, str(tmp_path / "report"))
    assert any(f.endswith("evaluation.png") for f in files)
