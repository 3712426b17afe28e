"""An action model on the shared model surface (transforms.common.models.Model).

``fit`` learns users from the per-action features of their genuine sessions; ``predict`` gives
each action's P(claimed user); ``evaluate`` gives the gate's AUC (impostor protocol when the
held-out actions carry legal and illegal labels, else one-vs-rest) at the gate's window and the
identification accuracy there. The nightly still registers its bundle of models
(:func:`transforms.mouse.stages.train_candidate`); this surface wraps the bundle's action model.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from transforms.common.models import GateRule, Model
from transforms.mouse import learn


def gate_rule(settings) -> GateRule:
    return GateRule("gate_auc", tolerance=settings.mouse_gate_tolerance)


class ActionModel(Model):
    name = "mouse_identification"

    def __init__(self, kind: str = "action_hgb", trees: int = 150, seed: int = 7, max_depth: int | None = 14,
                 window: int = 10):
        self.params = {"kind": kind, "trees": trees, "seed": seed, "max_depth": max_depth, "window": window}
        self.model = None

    def fit(self, actions: pd.DataFrame) -> "ActionModel":
        p = self.params
        train = learn.genuine(actions)
        self.model = learn.action_models(p["trees"], p["seed"], p["max_depth"])[p["kind"]]
        with threadpool_limits(limits=1, user_api="openmp"):  # see learn.train_and_evaluate
            self.model.fit(learn._x(train, learn.ACTION_FEATURE_NAMES), train["user_id"])
        return self

    def predict(self, actions: pd.DataFrame) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("ActionModel is not fitted")
        return learn.claimed_scores(self.model, actions)

    def evaluate(self, actions: pd.DataFrame) -> dict[str, float]:
        k = self.params["window"]
        result = learn.evaluate_action_model(self.model, learn.genuine(actions), [k])
        labelled = actions[actions["is_illegal"] >= 0]
        if labelled["is_illegal"].nunique() == 2:
            result["impostor_protocol"] = learn.impostor_protocol(self.model, labelled, [k])
        _, auc = learn.gate_metric(result, str(k))
        accuracy = result.get("by_k", {}).get(str(k), {}).get("identification", {}).get("accuracy", float("nan"))
        return {"gate_auc": float(auc), "identification_accuracy": float(accuracy)}
