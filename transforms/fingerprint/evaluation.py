"""Calibration and the paper's Table 5 evaluation over all visit pairs, per time-gap bucket.

Labels are the paper's: a pair is "same" when both visits carry the same cookie UID. The paper
names its rates oddly (its formula TP/(TP+FP) uses "FP" for a same pair judged different), but
its numbers are per-class rates: **TP rate** = share of same-UID pairs judged same (sensitivity),
**TN rate** = share of different-UID pairs judged different (specificity). We report those,
plus standard precision, recall (= TP rate) and the equal error rate.
"""
from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.fingerprint.methods import HybridLinker, Method
from transforms.fingerprint.table import VisitTable, all_pairs

log = logging.getLogger(__name__)
BUCKET_EDGES = [0, 1, 7, 14, 21, 28, 35, 42, 49, 56]  # days; the last bucket is [56, ∞) (paper: 56–411)
LINKABLE = ("ssdeep", "hybrid")  # methods whose linking threshold is calibrated (the linker, its fallback)
BUCKETS = [f"[{a},{b})" for a, b in zip(BUCKET_EDGES, BUCKET_EDGES[1:])] + ["[56,411]"]


def gap_bucket(table: VisitTable, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    gap = np.abs(table.days[i] - table.days[j])
    return np.searchsorted(BUCKET_EDGES, gap, side="right") - 1


def same_uid(table: VisitTable, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    uid = table.uid
    return np.array([a is not None and a == b for a, b in zip(uid[i], uid[j])], dtype=bool) if len(i) < 10 else \
        (pd.Series(uid[i]).to_numpy() == pd.Series(uid[j]).to_numpy()) & pd.notna(uid[i])


@dataclass
class Counts:
    """Per method: for each bucket and each grid threshold, pairs with score ≥ threshold, by class."""

    grid: np.ndarray
    same_at: np.ndarray  # (buckets, len(grid)) same-UID pairs with score >= grid[k]
    diff_at: np.ndarray
    n_same: np.ndarray  # (buckets,)
    n_diff: np.ndarray
    linking: "BestEarlier | None" = None

    @classmethod
    def empty(cls, grid: np.ndarray) -> "Counts":
        b, g = len(BUCKETS), len(grid)
        return cls(grid, np.zeros((b, g), np.int64), np.zeros((b, g), np.int64), np.zeros(b, np.int64), np.zeros(b, np.int64))

    def add(self, scores: np.ndarray, same: np.ndarray, bucket: np.ndarray) -> None:
        reached = np.searchsorted(self.grid, scores, side="right")  # thresholds grid[:reached] are met
        for label, at, n in ((True, self.same_at, self.n_same), (False, self.diff_at, self.n_diff)):
            mask = same == label
            hist = np.zeros((len(BUCKETS), len(self.grid) + 1), np.int64)
            np.add.at(hist, (bucket[mask], reached[mask]), 1)
            at += np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]
            n += hist.sum(axis=1)

    def merge(self, other: "Counts") -> "Counts":
        """The counts of both pair sets (shards of one evaluation)."""
        if not np.array_equal(self.grid, other.grid):
            raise ValueError("counts over different threshold grids cannot be merged")
        return Counts(self.grid, self.same_at + other.same_at, self.diff_at + other.diff_at,
                      self.n_same + other.n_same, self.n_diff + other.n_diff)

    def rates(self, k: int, buckets=slice(None)) -> dict:
        tp, fp = self.same_at[buckets, k].sum(), self.diff_at[buckets, k].sum()
        n_same, n_diff = self.n_same[buckets].sum(), self.n_diff[buckets].sum()
        fn, tn = n_same - tp, n_diff - fp
        return {"n_same": int(n_same), "n_diff": int(n_diff), "tp": int(tp), "fp": int(fp), "fn": int(fn), "tn": int(tn),
                "tp_rate": tp / n_same if n_same else np.nan, "tn_rate": tn / n_diff if n_diff else np.nan,
                "precision": tp / (tp + fp) if tp + fp else np.nan}

    def error_curves(self) -> tuple[np.ndarray, np.ndarray]:
        """(FN rate, FP rate) over all buckets at every grid threshold."""
        n_same, n_diff = max(self.n_same.sum(), 1), max(self.n_diff.sum(), 1)
        return 1 - self.same_at.sum(axis=0) / n_same, self.diff_at.sum(axis=0) / n_diff

    def best_threshold(self) -> tuple[float, float]:
        """The paper's rule: the threshold where FP rate + FN rate is smallest (ties: lowest)."""
        fnr, fpr = self.error_curves()
        k = int(np.argmin(fnr + fpr))
        return float(self.grid[k]), float(fnr[k] + fpr[k])

    def eer(self) -> float:
        fnr, fpr = self.error_curves()
        k = int(np.argmin(np.abs(fnr - fpr)))
        return float((fnr[k] + fpr[k]) / 2)

    def index_of(self, threshold: float) -> int:
        """Grid position equivalent to deciding ``score >= threshold``."""
        return int(np.searchsorted(self.grid, threshold, side="left"))


@dataclass
class BestEarlier:
    """Per visit, the best score among earlier visits of the same UID and of other UIDs: what
    linking the window's visits in time order against everything seen before would meet."""

    same: np.ndarray
    other: np.ndarray
    labelled: np.ndarray

    @classmethod
    def empty(cls, table: VisitTable) -> "BestEarlier":
        return cls(np.full(table.n, -np.inf), np.full(table.n, -np.inf), pd.notna(table.uid))

    def add(self, table: VisitTable, i: np.ndarray, j: np.ndarray, scores: np.ndarray, same: np.ndarray) -> None:
        j_later = (table.days[j] > table.days[i]) | ((table.days[j] == table.days[i]) & (j > i))
        later = np.where(j_later, j, i)
        both = self.labelled[i] & self.labelled[j]
        np.maximum.at(self.same, later[both & same], scores[both & same])
        np.maximum.at(self.other, later[both & ~same], scores[both & ~same])

    def accuracy(self, grid: np.ndarray) -> np.ndarray:
        """Share of labelled visits linked right at each threshold: a returning UID matched to its
        own earlier visits (strictly the best), a first-seen UID left as a new device."""
        returning = self.labelled & np.isfinite(self.same)
        first = self.labelled & ~np.isfinite(self.same)
        wins = self.same[returning & (self.same > self.other)]
        matched_right = len(wins) - np.searchsorted(np.sort(wins), grid, side="left")  # wins >= t
        new_right = np.searchsorted(np.sort(self.other[first]), grid, side="left")  # other < t
        return (matched_right + new_right) / max(int(self.labelled.sum()), 1)


def count_pairs(table: VisitTable, methods: list[Method], chunk: int = 1_000_000, grids: dict | None = None,
                linking: tuple[str, ...] = (), shard: int = 0, shards: int = 1) -> dict[str, Counts]:
    """Score every pair of ``table`` with every method, keeping only per-threshold counts (and,
    for the methods named in ``linking``, :class:`BestEarlier` in ``counts[name].linking``).
    With ``shards`` > 1, only shard ``shard`` of the pairs: :func:`merge_counts` of all shards
    equals the unsharded counts (the DAG scores shards in parallel tasks)."""
    counts = {}
    for m in methods:
        grid = (grids or {}).get(m.name, m.score_grid)
        counts[m.name] = Counts.empty(np.union1d(grid, [m.threshold]) if not m.calibrated else np.asarray(grid, float))
        counts[m.name].linking = BestEarlier.empty(table) if m.name in linking else None
    started, done, timing = time.perf_counter(), 0, {m.name: 0.0 for m in methods}
    for i, j in all_pairs(table.n, chunk, shard, shards):
        same, bucket = same_uid(table, i, j), gap_bucket(table, i, j)
        for m in methods:
            t0 = time.perf_counter()
            scores = m.scores(table, i, j)
            counts[m.name].add(scores, same, bucket)
            if counts[m.name].linking is not None:
                counts[m.name].linking.add(table, i, j, scores, same)
            timing[m.name] += time.perf_counter() - t0
        done += len(i)
        log.info("scored %d pairs%s (%.0f pairs/s)", done, f" of shard {shard + 1}/{shards}" if shards > 1 else "",
                 done / max(time.perf_counter() - started, 1e-9))
    log.info("seconds per method: %s", {k: round(v, 2) for k, v in timing.items()})
    return counts


def training_pairs(table: VisitTable, max_different: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All same-UID pairs plus a uniform sample of different-UID pairs (for fitting the hybrid)."""
    rng = np.random.default_rng(seed)
    uid = pd.Series(table.uid)
    same_i, same_j = [], []
    for _, rows in uid[uid.notna()].groupby(uid[uid.notna()]).groups.items():
        rows = np.asarray(rows)
        if len(rows) > 1:
            a, b = np.triu_indices(len(rows), 1)
            same_i.append(rows[a])
            same_j.append(rows[b])
    i = rng.integers(0, table.n, size=max_different * 2)
    j = rng.integers(0, table.n, size=max_different * 2)
    keep = (i != j) & ~same_uid(table, i, j)
    i, j = i[keep][:max_different], j[keep][:max_different]
    si = np.concatenate(same_i) if same_i else np.zeros(0, np.int64)
    sj = np.concatenate(same_j) if same_j else np.zeros(0, np.int64)
    return (np.concatenate([si, i]), np.concatenate([sj, j]),
            np.concatenate([np.ones(len(si), bool), np.zeros(len(i), bool)]))


def fit_and_calibrate(fit: VisitTable, calibration: VisitTable, methods: list[Method],
                      max_different: int = 200_000, seed: int = 0) -> pd.DataFrame:
    """Fit learned methods on the fit window, then set every calibrated method's threshold on the
    (later, disjoint) calibration window, so that thresholds are not tuned on fitted pairs."""
    for m in methods:
        if isinstance(m, HybridLinker):
            i, j, same = training_pairs(fit, max_different, seed)
            log.info("fitting %s on %d pairs (%d same-UID)", m.name, len(i), same.sum())
            m.fit(fit, i, j, same)
    counts = count_pairs(calibration, methods, linking=LINKABLE)
    rows = []
    for m in methods:
        c = counts[m.name]
        best, error = c.best_threshold()
        if m.calibrated:
            m.threshold = best
        at = c.rates(c.index_of(m.threshold))
        link_threshold = link_accuracy = np.nan
        if c.linking is not None:  # one-to-many: the best-scoring earlier visit must be the right one
            accuracy = c.linking.accuracy(c.grid)
            k = int(np.argmax(accuracy))
            m.link_threshold, link_threshold, link_accuracy = float(c.grid[k]), float(c.grid[k]), float(accuracy[k])
        rows.append({"method": m.name, "threshold": m.threshold, "calibrated": m.calibrated,
                     "best_threshold": best, "best_fp_plus_fn": error,
                     "fp_plus_fn_at_threshold": (1 - at["tp_rate"]) + (1 - at["tn_rate"]),
                     "train_pairs_same": at["n_same"], "train_pairs_diff": at["n_diff"],
                     "link_threshold": link_threshold, "link_accuracy": link_accuracy})
    return pd.DataFrame(rows)


def merge_counts(shards: list[dict[str, Counts]]) -> dict[str, Counts]:
    merged = dict(shards[0])
    for counts in shards[1:]:
        merged = {name: merged[name].merge(c) for name, c in counts.items()}
    return merged


def counts_to_npz(counts: dict[str, Counts]) -> bytes:
    """Counts as a NumPy archive (no pickle: shard results travel through the lake)."""
    arrays = {f"{name}/{field}": getattr(c, field) for name, c in counts.items()
              for field in ("grid", "same_at", "diff_at", "n_same", "n_diff")}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def counts_from_npz(blob: bytes) -> dict[str, Counts]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        names = sorted({key.split("/")[0] for key in archive.files})
        return {name: Counts(*(archive[f"{name}/{field}"] for field in ("grid", "same_at", "diff_at", "n_same", "n_diff")))
                for name in names}


def evaluate(test: VisitTable, methods: list[Method], counts: dict[str, Counts] | None = None) -> pd.DataFrame:
    """One row per method × bucket ("all" first) at each method's threshold; ``counts`` are the
    (merged shards') pair counts when already scored."""
    counts = counts if counts is not None else count_pairs(test, methods)
    rows = []
    for m in methods:
        c = counts[m.name]
        k = c.index_of(m.threshold)
        eer = c.eer()
        for bucket, selector in [("all", slice(None))] + [(b, slice(n, n + 1)) for n, b in enumerate(BUCKETS)]:
            rows.append({"method": m.name, "bucket": bucket, "threshold": m.threshold, **c.rates(k, selector),
                         "eer": eer if bucket == "all" else np.nan})
    frame = pd.DataFrame(rows)
    frame["recall"] = frame["tp_rate"]
    return frame


def table5(evaluation: pd.DataFrame) -> str:
    """The paper's Table 5 layout as Markdown: TP and TN rate per bucket, pair counts below."""
    header = ["method", "rate", "all"] + BUCKETS
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, group in evaluation.groupby("method", sort=False):
        by_bucket = group.set_index("bucket")
        for rate, label in (("tp_rate", "TP"), ("tn_rate", "TN")):
            cells = [f"{100 * by_bucket.loc[b, rate]:.2f}%" if pd.notna(by_bucket.loc[b, rate]) else "–" for b in ["all"] + BUCKETS]
            lines.append(f"| {method} | {label} | " + " | ".join(cells) + " |")
    first = evaluation[evaluation["method"] == evaluation["method"].iloc[0]].set_index("bucket")
    for column, label in (("n_same", "pairs same-UID"), ("n_diff", "pairs different-UID")):
        lines.append(f"| {label} | | " + " | ".join(str(int(first.loc[b, column])) for b in ["all"] + BUCKETS) + " |")
    return "\n".join(lines)


def summary(evaluation: pd.DataFrame, calibration: pd.DataFrame) -> str:
    overall = evaluation[evaluation["bucket"] == "all"].merge(calibration[["method", "best_fp_plus_fn"]], on="method")
    lines = ["| method | threshold | precision | recall (TP rate) | TN rate | EER | FP+FN rate (test) | FP+FN rate (calibration window, best) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in overall.itertuples():
        lines.append(f"| {r.method} | {r.threshold:.4g} | {r.precision:.4f} | {r.tp_rate:.4f} | {r.tn_rate:.4f} | "
                     f"{r.eer:.4f} | {(1 - r.tp_rate) + (1 - r.tn_rate):.4f} | {r.best_fp_plus_fn:.4f} |")
    return "\n".join(lines)


def plot_tp_rate(evaluation: pd.DataFrame, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for method, group in evaluation[evaluation["bucket"] != "all"].groupby("method", sort=False):
        ax.plot(range(len(BUCKETS)), 100 * group["tp_rate"].to_numpy(), marker="o", label=method)
    ax.set_xticks(range(len(BUCKETS)), BUCKETS, rotation=30)
    ax.set_xlabel("time gap between the two visits (days)")
    ax.set_ylabel("TP rate (%)")
    ax.set_ylim(0, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title("TP rate against the time gap (test window)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
