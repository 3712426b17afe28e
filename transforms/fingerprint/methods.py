"""The linking methods of SPEC §S2 behind one interface.

Every method scores visit pairs (higher = more likely the same device) and decides "same device"
when ``score >= threshold``. ``scores(table, i, j)`` works on many pairs at once (evaluation,
linking); ``same_device(a, b)`` on two visit records. Methods whose rule fixes the threshold
(Fybrid, OpenAM, Eckersley) keep it; the others take the calibrated one.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.fingerprint import attributes as attrs
from transforms.fingerprint.table import VisitTable


@dataclass(frozen=True)
class Decision:
    score: float
    same: bool


class Method(ABC):
    name = ""
    default_threshold = 0.0
    calibrated = True  # threshold chosen on the training window
    score_range = (0.0, 1.0)  # what ``scores`` returns (the links' contract checks it per method)
    score_grid: np.ndarray = np.linspace(0, 1, 1001)  # candidate thresholds for calibration
    tie_margin = 0.0  # linking: stored identities scoring within this of the best one are indistinguishable

    def __init__(self, threshold: float | None = None):
        self.threshold = self.default_threshold if threshold is None else threshold
        self.link_threshold: float | None = None  # one-to-many linking, calibrated separately

    @property
    def threshold_range(self) -> tuple[float, float]:
        """Where a calibrated threshold may lie: the grid (it may pass the top score: link nothing)."""
        return float(min(self.score_grid)), float(max(self.score_grid))

    @property
    def linking_threshold(self) -> float:
        """Threshold for linking a visit against a whole store (the pairwise one until calibrated)."""
        return self.threshold if getattr(self, "link_threshold", None) is None else self.link_threshold

    def fit(self, table: VisitTable, i: np.ndarray, j: np.ndarray, same: np.ndarray) -> "Method":
        return self

    @abstractmethod
    def scores(self, table: VisitTable, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Scores of the visit pairs (i[k], j[k]) of ``table``."""

    def same_device(self, a: dict, b: dict) -> Decision:
        table = VisitTable(prepare_records([a, b]))
        score = float(self.scores(table, np.array([0]), np.array([1]))[0])
        return Decision(score, score >= self.threshold)


def prepare_records(records: list[dict]) -> pd.DataFrame:
    """Raw visit dicts → normalised attribute frame (what ingestion produces)."""
    rows = []
    for record in records:
        row = {name: attrs.normalise(name, record.get(name)) for name in attrs.ATTRIBUTES}
        row["ts"] = record.get("ts") or "1970-01-01T00:00:00+00:00"
        row["uid"] = record.get("uid")
        row["fp_ssdeep"] = attrs.fuzzy_hash(attrs.canonical_string(row))
        row["fp_md5"] = attrs.md5(attrs.canonical_string(row))
        rows.append(row)
    return pd.DataFrame(rows)


class Fybrid(Method):
    """Exact match of the MD5 of all attributes."""

    name, default_threshold, calibrated = "fybrid", 1.0, False
    score_grid = np.array([0.0, 1.0])

    def scores(self, table, i, j):
        return (table.md5_code[i] == table.md5_code[j]).astype(np.float64)


OPENAM_PENALTIES = {"plugins": 35, "http_user_agent": 35, "fonts": 35, "resolution": 35, "depth": 35, "timezone": 35}


class OpenAM(Method):
    """Device print: 35 penalty points per changed attribute; the score is minus the total, and a
    pair is the same device while the total does not exceed the threshold (50 in 11.0, 30 in 12.0)."""

    calibrated = False
    score_range = (-float(sum(OPENAM_PENALTIES.values())), 0.0)
    score_grid = -np.arange(0, 35 * 6 + 1, 35)[::-1].astype(float)

    def __init__(self, max_penalty: int = 50, threshold: float | None = None):
        super().__init__(-max_penalty if threshold is None else threshold)
        self.name = f"openam{max_penalty}"

    def scores(self, table, i, j):
        penalty = np.zeros(len(i))
        for name, points in OPENAM_PENALTIES.items():
            codes = {"resolution": table.resolution_code, "depth": table.depth_code}.get(name)
            changed = codes[i] != codes[j] if codes is not None else ~table.equal(name, i, j)
            penalty += points * changed
        return -penalty


ECKERSLEY_TOLERATED = {"resolution_depth", "timezone"}  # a single change here is always tolerated


class Eckersley(Method):
    """Same device if at most one of (plugins, UA, fonts, screen, HTTP headers, time zone) differs
    and that one is the screen or time zone, or its SequenceMatcher ratio exceeds 0.85."""

    name, calibrated = "eckersley", False
    default_threshold = float(np.nextafter(0.85, 1.0))

    def scores(self, table, i, j):
        features = {
            "plugins": table.codes["plugins"], "http_user_agent": table.codes["http_user_agent"],
            "fonts": table.codes["fonts"], "resolution_depth": table.codes["screen"],
            "headers": table.headers_code, "timezone": table.codes["timezone"],
        }
        differs = np.stack([codes[i] != codes[j] for codes in features.values()])
        count = differs.sum(axis=0)
        score = np.where(count == 0, 1.0, 0.0)
        single = np.flatnonzero(count == 1)
        which = differs[:, single].argmax(axis=0)
        names = list(features)
        for pos, feature_index in zip(single, which):
            name = names[feature_index]
            if name in ECKERSLEY_TOLERATED:
                score[pos] = 1.0
            else:
                codes = features[name]
                score[pos] = table.ratio(name, int(codes[i[pos]]), int(codes[j[pos]]))
        return score


class Yiks(Method):
    """Plugin list alone, each plugin one symbol: Dice similarity of the symbol sets (YIKS-style;
    the paper gives no formula, and for sorted symbol sets this is what difflib's ratio measures)."""

    name, default_threshold = "yiks", 0.9

    def scores(self, table, i, j):
        codes = table.set_code("plugins")
        return table.plugins.dice(codes[i], codes[j])


class Ssdeep(Method):
    """The paper's method: ssdeep compare of the canonical fingerprint strings (0–100)."""

    name, default_threshold = "ssdeep", 67.0
    score_range = (0.0, 100.0)
    score_grid = np.arange(0, 102, dtype=float)  # 101: a threshold no pair reaches
    tie_margin = 5.0  # on 2,000 real distinct browsers: false merges 13.2 % at 0, 1.9 % at 6 (ssdeep 90)

    def scores(self, table, i, j):
        return table.fuzzy_scores(i, j)


class InformativeSsdeep(Method):
    """Ours: ssdeep compare of the informative strings — present attributes only, weighted by
    their entropy in the store (:mod:`transforms.fingerprint.informative`), 0–100."""

    name, default_threshold = "ssdeep_info", 67.0
    score_range = (0.0, 100.0)
    score_grid = np.arange(0, 102, dtype=float)
    tie_margin = 5.0

    def scores(self, table, i, j):
        return table.fuzzy_scores(i, j, kind="informative")


def pair_features(table: VisitTable, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per-attribute similarities of pairs, ordered so that ``i`` is the earlier visit. Equality
    is 1 / 0 when both visits carry the attribute and −1 when either lacks it: two missing values
    are no evidence of anything."""
    earlier = np.where(table.days[i] <= table.days[j], i, j)
    later = np.where(table.days[i] <= table.days[j], j, i)
    columns = {f"eq_{name}": np.where(table.present_both(name, earlier, later),
                                      table.equal(name, earlier, later), -1) for name in attrs.ATTRIBUTES}
    columns["fuzzy"] = table.fuzzy_scores(earlier, later) / 100.0
    columns["fuzzy_informative"] = table.fuzzy_scores(earlier, later, kind="informative") / 100.0
    shared, differ, both = table.shared_bits(earlier, later)
    columns["shared_bits"], columns["differ_bits"], columns["both_present"] = shared, differ, both
    fonts, plugins = table.set_code("fonts"), table.set_code("plugins")
    columns["fonts_jaccard"] = table.fonts.jaccard(fonts[earlier], fonts[later])
    columns["plugins_dice"] = table.plugins.dice(plugins[earlier], plugins[later])
    same_family = table.ua_family[earlier] == table.ua_family[later]
    columns["ua_same_family"] = same_family
    columns["ua_same_os"] = table.ua_os[earlier] == table.ua_os[later]
    step = np.clip(table.ua_version[later] - table.ua_version[earlier], -5, 30)
    columns["ua_version_step"] = np.where(same_family, step, 99)
    columns["ip16_same"] = (table.ip16[earlier] == table.ip16[later]) & (table.ip16[earlier] >= 0)
    columns["gap_log_days"] = np.log1p(np.abs(table.days[later] - table.days[earlier]))
    columns["missing"] = table.missing[earlier] + table.missing[later]
    names = list(columns)
    return np.column_stack([np.asarray(columns[n], dtype=np.float32) for n in names]), names


def impossible_change(table: VisitTable, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Changes a device does not make: another browser family or platform, or the browser's
    major version going down over time (FP-Stalker's rules)."""
    earlier = np.where(table.days[i] <= table.days[j], i, j)
    later = np.where(table.days[i] <= table.days[j], j, i)
    known = (table.ua_version[earlier] >= 0) & (table.ua_version[later] >= 0)
    other_family = table.ua_family[earlier] != table.ua_family[later]
    other_platform = table.ua_platform[earlier] != table.ua_platform[later]
    downgrade = table.ua_version[later] < table.ua_version[earlier]
    return known & (other_family | other_platform | downgrade)


class HybridLinker(Method):
    """Ours (FP-Stalker-style hybrid): rules first (no browser/platform switch, no version going
    down: those pairs score 0); the remaining pairs get per-attribute similarities incl. the
    ssdeep score and the time gap, combined by gradient-boosted trees learned on the fit window."""

    name, default_threshold = "hybrid", 0.5
    tie_margin = 0.05
    # probabilities of rare-class pairs are small: resolve the low end finely
    score_grid = np.unique(np.concatenate([np.linspace(0, 1, 1001), np.logspace(-6, 0, 301)]))

    def __init__(self, threshold: float | None = None, seed: int = 0):
        super().__init__(threshold)
        self.model = None
        self.seed = seed

    def fit(self, table, i, j, same):
        from sklearn.ensemble import HistGradientBoostingClassifier

        keep = ~impossible_change(table, i, j)
        features, _ = pair_features(table, i[keep], j[keep])
        self.model = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.15, max_leaf_nodes=15,
                                                    l2_regularization=1.0, random_state=self.seed)
        self.model.fit(features, same[keep])
        return self

    def scores(self, table, i, j):
        if self.model is None:
            raise RuntimeError("hybrid linker not fitted")
        scores = np.zeros(len(i))
        keep = np.flatnonzero(~impossible_change(table, i, j))
        if len(keep):
            features, _ = pair_features(table, i[keep], j[keep])
            scores[keep] = self.model.predict_proba(features)[:, 1]
        return scores


def all_methods(hybrid: HybridLinker | None = None) -> list[Method]:
    methods: list[Method] = [Fybrid(), OpenAM(50), OpenAM(30), Eckersley(), Yiks(), Ssdeep(), InformativeSsdeep()]
    return methods + [hybrid or HybridLinker()]
