"""Estimation: candidates from the index → pair likelihoods → no-member threshold → top-3 vote.

Paper §5.4/5.5: if every likelihood is below the threshold the answer is "no member"; otherwise
the member most frequent among the three most likely stored accesses wins, and when all three
differ, the one with the highest likelihood.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.member_id.candidates import CandidateIndex, block_keys
from transforms.member_id.features import GroupStats, feature_table, pair_vectors
from transforms.member_id.training import PairModel

log = logging.getLogger(__name__)


def usable_store(enriched: pd.DataFrame, per_member: int = 30) -> pd.DataFrame:
    """Accesses that can serve as member fingerprints: a member, no bot, every field derived;
    at most the ``per_member`` most recent per member."""
    keep = (enriched["member_id"].fillna("") != "") & ~enriched["is_bot"] & (enriched["missing_fields"] == "")
    store = enriched[keep].sort_values("ts")
    return store.groupby("member_id", sort=False).tail(per_member).reset_index(drop=True)


def top3_vote(members: np.ndarray, likelihoods: np.ndarray) -> tuple[str, float]:
    """Most frequent member among the 3 most likely; all different → the most likely one."""
    top = np.argsort(-likelihoods, kind="stable")[:3]
    best_member, best_count, best_like = None, 0, -1.0
    for idx in top:  # in likelihood order, so ties in frequency keep the more likely member
        member = members[idx]
        count = int(np.sum(members[top] == member))
        like = float(likelihoods[top][members[top] == member].max())
        if count > best_count or (count == best_count and like > best_like):
            best_member, best_count, best_like = member, count, like
    return best_member, best_like


@dataclass
class Estimate:
    status: str  # success | error
    member_id: str  # "" for no member
    likelihood: float
    reason: str = ""
    candidates: int = 0


class Estimator:
    def __init__(self, model: PairModel, store: pd.DataFrame, threshold: float = 0.5, max_candidates: int = 400):
        started = time.perf_counter()
        self.model, self.threshold = model, threshold
        self.store_members = store["member_id"].to_numpy(dtype=object)
        self.stats = GroupStats().fit(store)
        self.table = feature_table(store, self.stats)
        self.index = CandidateIndex(store, max_candidates)
        self.window = (str(store["ts"].min()), str(store["ts"].max()))
        log.info("estimator: %d stored accesses of %d members indexed in %.1fs", len(store),
                 len(set(self.store_members)), time.perf_counter() - started)

    def score(self, queries: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
        """(candidate rows, likelihoods) per query (enriched rows with every field derived)."""
        table = feature_table(queries, self.stats)
        keys = block_keys(queries)
        cands = [self.index.candidates(keys[i]) for i in range(len(queries))]
        ia = np.concatenate([np.full(len(c), i) for i, c in enumerate(cands)]) if cands else np.empty(0, int)
        ib = np.concatenate(cands) if cands else np.empty(0, int)
        likes = self.model.likelihood(pair_vectors(table, ia.astype(np.int64), self.table, ib.astype(np.int64)))
        bounds = np.cumsum([0] + [len(c) for c in cands])
        return [(cands[i], likes[bounds[i]:bounds[i + 1]]) for i in range(len(queries))]

    def decide(self, rows: np.ndarray, likes: np.ndarray, threshold: float | None = None) -> Estimate:
        threshold = self.threshold if threshold is None else threshold
        if len(rows) == 0 or likes.max() < threshold:
            return Estimate("success", "", float(likes.max()) if len(likes) else 0.0, candidates=len(rows))
        member, like = top3_vote(self.store_members[rows], likes)
        return Estimate("success", str(member), like, candidates=len(rows))

    def estimate(self, queries: pd.DataFrame) -> list[Estimate]:
        """One result per enriched query row; rows missing a required field get status error."""
        results: list = [None] * len(queries)
        missing = queries["missing_fields"].fillna("").to_numpy()
        ok = np.flatnonzero(missing == "")
        for i in np.flatnonzero(missing != ""):
            results[i] = Estimate("error", "", 0.0, reason=f"could not derive: {missing[i]}")
        if len(ok):
            for i, (rows, likes) in zip(ok, self.score(queries.iloc[ok].reset_index(drop=True))):
                results[i] = self.decide(rows, likes)
        return results
