"""The hybrid linker on the shared model surface (transforms.common.models.Model).

The registry's ``fp_linker`` artifact is a :class:`LinkerModel`: the fitted
:class:`~transforms.fingerprint.methods.HybridLinker` (``.method``, what daily linking uses) with
the settings that judge it. ``fit`` learns on a fit window and calibrates on a later one;
``predict`` links visits in time order from an empty store (the production rules);
``evaluate`` measures that linking and the pairwise FP+FN rate the gate compares.
"""
from __future__ import annotations

import pandas as pd

from transforms.common.models import GateRule, Model
from transforms.fingerprint import evaluation
from transforms.fingerprint.methods import HybridLinker, Method
from transforms.fingerprint.table import VisitTable


def gate_rule(settings) -> GateRule:
    """Not worse than the current linker on FP+FN, and the absolute linking floor and ceiling."""
    return GateRule("fp_plus_fn", higher_is_better=False, tolerance=settings.fp_gate_tolerance,
                    floors={"link_accuracy": settings.fp_gate_min_link_accuracy},
                    ceilings={"false_merge_rate": settings.fp_gate_max_false_merge})


class LinkerModel(Model):
    name = "fp_linker"

    def __init__(self, method: HybridLinker | None = None, seed: int = 0, max_different_pairs: int = 200_000,
                 max_false_merge: float = 0.01, store_keep: int = 5, retention_days: int = 450,
                 max_anonymity_set: int = 1, **extra):
        self.method = method or HybridLinker(seed=seed)
        self.params = {"seed": seed, "max_different_pairs": max_different_pairs, "max_false_merge": max_false_merge,
                       "store_keep": store_keep, "retention_days": retention_days,
                       "max_anonymity_set": max_anonymity_set, **extra}

    @classmethod
    def from_settings(cls, settings, method: HybridLinker | None = None, **extra) -> "LinkerModel":
        return cls(method, settings.fp_seed, settings.fp_max_different_pairs, settings.fp_gate_max_false_merge,
                   settings.fp_store_keep, settings.fp_store_retention_days, settings.fp_max_anonymity_set, **extra)

    def fit(self, data: dict) -> "LinkerModel":
        """``data``: {"fit": visits, "calibration": visits of a later, disjoint window}."""
        p = self.params
        evaluation.fit_and_calibrate(VisitTable(data["fit"]), VisitTable(data["calibration"]), [self.method],
                                     p["max_different_pairs"], p["seed"], p["max_false_merge"])
        return self

    def predict(self, visits: pd.DataFrame) -> pd.DataFrame:
        """Links of ``visits`` taken in time order from an empty store."""
        from transforms.fingerprint.linking import link_visits
        from transforms.fingerprint.schemas import STORE

        p = self.params
        links, _ = link_visits(STORE.schema.empty_table().to_pandas(), visits, self.method, p["store_keep"],
                               p["retention_days"], p["max_anonymity_set"])
        return links

    def evaluate(self, visits: pd.DataFrame) -> dict[str, float]:
        labels, _ = evaluation.truth_labels(visits)
        linking = evaluation.linking_metrics(self.predict(visits), labels)
        overall = evaluation.evaluate(VisitTable(visits), [self.method]).set_index("bucket").loc["all"]
        return {**{k: float(v) for k, v in linking.items()},
                "fp_plus_fn": float(2 - overall["tp_rate"] - overall["tn_rate"]), "eer": float(overall["eer"])}


def linker_method(artifact) -> Method:
    """The linking method inside a registry artifact (artifacts saved before the shared surface
    are the bare method)."""
    return artifact.method if isinstance(artifact, LinkerModel) else artifact
