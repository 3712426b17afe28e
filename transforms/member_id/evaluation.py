"""Metrics on accesses of a later day than the store/training window (split by time).

Known members: the member has accesses in the store. Unseen members: it has none, so the right
answer is "no member". Blocking recall: share of known-member queries whose member is among the
candidates at all (the ceiling of top-1 accuracy).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.member_id.estimator import Estimator

BUCKETS = [(1, 1), (2, 3), (4, 7), (8, 15), (16, 10**9)]


def member_rows(enriched: pd.DataFrame) -> pd.DataFrame:
    """Every access of a member (estimable or not): the denominator of coverage and of top-k."""
    return enriched[(enriched["member_id"].fillna("") != "") & ~enriched["is_bot"]].reset_index(drop=True)


def query_rows(enriched: pd.DataFrame) -> pd.DataFrame:
    """Member accesses the estimator answers (some usable evidence)."""
    rows = member_rows(enriched)
    return rows[rows["unusable"].fillna("") == ""].reset_index(drop=True)


def score_queries(estimator: Estimator, queries: pd.DataFrame, batch: int = 200) -> pd.DataFrame:
    """Per query: truth, whether known, stored accesses of the true member, candidate recall, and the
    vote's member and likelihood (before any threshold)."""
    stored = pd.Series(estimator.store_members).value_counts()
    out = []
    for start in range(0, len(queries), batch):
        part = queries.iloc[start:start + batch].reset_index(drop=True)
        for truth, (rows, likes) in zip(part["member_id"], estimator.score(part)):
            voted = estimator.decide(rows, likes, threshold=-1.0)
            out.append({"truth": truth, "stored": int(stored.get(truth, 0)), "candidates": len(rows),
                        "in_candidates": bool(truth in set(estimator.store_members[rows])),
                        "voted": voted.member_id, "max_likelihood": float(likes.max()) if len(likes) else 0.0})
    frame = pd.DataFrame(out, columns=["truth", "stored", "candidates", "in_candidates", "voted", "max_likelihood"])
    frame["known"] = frame["stored"] > 0
    return frame


def decisions(scored: pd.DataFrame, threshold: float) -> pd.Series:
    return scored["voted"].where(scored["max_likelihood"] >= threshold, "")


def calibrate(scored: pd.DataFrame) -> float:
    """Threshold maximising the share of right decisions (right member, or "no member" for unseen)."""
    best_t, best = 0.5, -1.0
    for t in np.unique(np.r_[np.linspace(0.0, 1.0, 101), scored["max_likelihood"].quantile(np.linspace(0, 1, 51))]):
        right = np.where(scored["known"], decisions(scored, t) == scored["truth"], decisions(scored, t) == "")
        if right.mean() > best:
            best_t, best = float(t), float(right.mean())
    return best_t


def metrics(scored: pd.DataFrame, threshold: float) -> dict:
    decided = decisions(scored, threshold)
    known, unseen = scored["known"], ~scored["known"]
    predicted_none = decided == ""
    right = np.where(known, decided == scored["truth"], predicted_none)
    by_bucket = {}
    for lo, hi in BUCKETS:
        sel = known & scored["stored"].between(lo, hi)
        label = f"{lo}" if lo == hi else (f"{lo}-{hi}" if hi < 10**9 else f"{lo}+")
        by_bucket[label] = {"queries": int(sel.sum()),
                            "top1_accuracy": float((decided[sel] == scored["truth"][sel]).mean()) if sel.any() else None}
    tp = int((predicted_none & unseen).sum())
    return {
        "queries": int(len(scored)), "known_queries": int(known.sum()), "unseen_queries": int(unseen.sum()),
        "threshold": float(threshold),
        "top1_accuracy_known": float((decided[known] == scored["truth"][known]).mean()) if known.any() else None,
        "top1_accuracy_known_vote_only": float((scored["voted"][known] == scored["truth"][known]).mean()) if known.any() else None,
        "no_member_precision": tp / int(predicted_none.sum()) if predicted_none.any() else None,
        "no_member_recall": tp / int(unseen.sum()) if unseen.any() else None,
        "decision_accuracy": float(right.mean()) if len(scored) else None,
        "blocking_recall": float(scored["in_candidates"][known].mean()) if known.any() else None,
        "mean_candidates": float(scored["candidates"].mean()) if len(scored) else None,
        "accuracy_by_stored_accesses": by_bucket,
    }
