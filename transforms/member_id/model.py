"""The member estimator on the shared model surface (transforms.common.models.Model).

``fit`` takes ``{"store": enriched accesses of the training window, "calibration": enriched
accesses of a later day}``: it trains the pair model on the store's pairs, then fits the
no-member threshold, the decision model and the likelihood calibrator on the calibration day.
``predict`` answers enriched accesses (member id, "" for no member); ``evaluate`` gives the
held-out figures of :func:`transforms.member_id.evaluation.metrics` (the gate compares
``decision_accuracy``). The nightly (transforms/member_id/stages.py) measures with the same
:func:`calibrated_estimator` and :func:`measure`.
"""
from __future__ import annotations

import math

import pandas as pd

from transforms.common.models import Model
from transforms.member_id import evaluation, training
from transforms.member_id.estimator import Estimator, usable_store


def calibrated_estimator(pair_model, store: pd.DataFrame, calibration: pd.DataFrame, max_candidates: int,
                         block_per_member: int, no_member_precision: float) -> tuple[Estimator, dict]:
    """(estimator over ``store`` with threshold, decision model and calibrator fitted on the
    member accesses ``calibration``, the calibration's figures)."""
    estimator = Estimator(pair_model, store, max_candidates=max_candidates, block_per_member=block_per_member)
    fitted = evaluation.calibrate(evaluation.score_queries(estimator, calibration), no_member_precision)
    estimator.threshold, estimator.calibrator = fitted["threshold"], fitted["calibrator"]
    estimator.decision_model = fitted["decision_model"]
    return estimator, fitted


def measure(estimator: Estimator, test: pd.DataFrame) -> dict:
    """Held-out figures of ``estimator`` on the member accesses ``test``."""
    scored = evaluation.apply_decision_model(evaluation.score_queries(estimator, test), estimator.decision_model)
    return evaluation.metrics(scored, estimator.threshold, estimator.calibrator)


class MemberModel(Model):
    name = "member_id"

    def __init__(self, kind: str = "gbm", pairs: int = 200_000, chunk: int = 50_000, negative_ratio: float = 1.0,
                 hard_negative_share: float = 0.5, seed: int = 7, gbm_max_pairs: int = 400_000,
                 mlp_hidden: str = "500,500,500,50", mlp_epochs: int = 2, max_candidates: int = 400,
                 block_per_member: int = 1, no_member_precision: float = 0.9):
        self.params = {"kind": kind, "pairs": pairs, "chunk": chunk, "negative_ratio": negative_ratio,
                       "hard_negative_share": hard_negative_share, "seed": seed, "gbm_max_pairs": gbm_max_pairs,
                       "mlp_hidden": mlp_hidden, "mlp_epochs": mlp_epochs, "max_candidates": max_candidates,
                       "block_per_member": block_per_member, "no_member_precision": no_member_precision}
        self.estimator: Estimator | None = None

    def fit(self, data: dict) -> "MemberModel":
        p, store = self.params, usable_store(data["store"])
        pair_model = training.fit_pair_models(store, (p["kind"],), p)[p["kind"]]
        self.estimator, _ = calibrated_estimator(pair_model, store, evaluation.member_rows(data["calibration"]),
                                                 p["max_candidates"], p["block_per_member"], p["no_member_precision"])
        return self

    def predict(self, enriched: pd.DataFrame) -> list[str]:
        return [e.member_id for e in self.estimator.estimate(enriched.reset_index(drop=True))]

    def evaluate(self, enriched: pd.DataFrame) -> dict[str, float]:
        result = measure(self.estimator, evaluation.member_rows(enriched))
        return {k: (math.nan if v is None else float(v)) for k, v in result.items()
                if v is None or isinstance(v, (int, float))}
