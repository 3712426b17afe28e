"""The search-history authenticator on the shared model surface (transforms.common.models.Model).

Data for ``fit`` / ``predict`` / ``evaluate``: ``{"features": sa_daily_features rows (with ds),
"days": the consecutive days whose requests are labelled}``; the features must also hold the
``template_days`` days before the first labelled one (each request is judged against its
template). A labelled day gives one genuine request per active user with a usable template and
``impostors_per_day`` impostor requests (another active user's day against that template).
``fit`` learns Doc2Vec from every document it is given, then the forest on the labelled days;
the nightly (:func:`transforms.search_auth.training.retrain`) does the same on its window and
registers the parts as a bundle.
"""
from __future__ import annotations

import numpy as np

from transforms.common.days import window
from transforms.common.models import Model
from transforms.search_auth import panel as panel_mod
from transforms.search_auth.training import (FEATURE_SETS, IMPOSTORS_PER_DAY, MODEL_NAME, holdout_metrics,
                                              labelled_rows)


class Authenticator(Model):
    name = MODEL_NAME

    def __init__(self, features: str = "extended", doc2vec_dims: int = 200, doc2vec_epochs: int = 20,
                 doc2vec_min_count: int = 1, trees: int = 100, seed: int = 7, template_days: int = 28,
                 impostors_per_day: int = IMPOSTORS_PER_DAY):
        self.params = {"features": features, "doc2vec_dims": doc2vec_dims, "doc2vec_epochs": doc2vec_epochs,
                       "doc2vec_min_count": doc2vec_min_count, "trees": trees, "seed": seed,
                       "template_days": template_days, "impostors_per_day": impostors_per_day}
        self.doc2vec = self.classifier = None

    @property
    def feature_names(self) -> list[str]:
        return FEATURE_SETS[self.params["features"]]  # the retraining's table: "sparse" is not "extended"

    def _panel(self, data: dict):
        labelled = list(data["days"])
        days = window(labelled[-1], self.params["template_days"] + len(labelled))
        return panel_mod.from_features(data["features"], days), range(self.params["template_days"], len(days))

    def _rows(self, data: dict):
        from transforms.search_auth.vectors import panel_vectors

        panel, labelled = self._panel(data)
        panel.docvec = panel_vectors(self.doc2vec, panel, self.params["seed"])
        panel.build_bow()
        rng = np.random.default_rng(self.params["seed"])  # the same impostors on every call
        X, y, _rows = labelled_rows(panel, labelled, self.feature_names, rng, self.params["impostors_per_day"])
        return X, y

    def fit(self, data: dict) -> "Authenticator":
        from sklearn.ensemble import RandomForestClassifier

        from transforms.search_auth.vectors import train

        p = self.params
        panel, _ = self._panel(data)
        documents = [(f"{u}|{d}", panel.documents[i][k]) for i, u in enumerate(panel.users)
                     for k, d in enumerate(panel.days)]
        self.doc2vec = train(documents, p["doc2vec_dims"], p["doc2vec_epochs"], p["seed"], p["doc2vec_min_count"])
        X, y = self._rows(data)
        self.classifier = RandomForestClassifier(n_estimators=p["trees"], random_state=p["seed"],
                                                 class_weight="balanced", min_samples_leaf=2, n_jobs=1).fit(X, y)
        return self

    def predict(self, data: dict) -> np.ndarray:
        """P(genuine) of every labelled request (genuine and impostor rows, in a fixed order)."""
        X, _ = self._rows(data)
        return self.classifier.predict_proba(X)[:, list(self.classifier.classes_).index(1)]

    def evaluate(self, data: dict) -> dict[str, float]:
        X, y = self._rows(data)
        return {**holdout_metrics(y, self.classifier.predict(X)), "rows": float(len(y))}
