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

from transforms.member_id.candidates import CandidateIndex
from transforms.member_id.features import GroupStats, feature_table, pair_vectors
from transforms.member_id.query import QUERY_COLUMNS, QueryEncoder, query_columns
from transforms.member_id.training import PairModel

log = logging.getLogger(__name__)


def estimable(enriched: pd.DataFrame) -> pd.Series:
    """Accesses with some usable evidence (no bot; missing fields are fine)."""
    return enriched["unusable"].fillna("") == ""


def usable_store(enriched: pd.DataFrame, per_member: int = 30) -> pd.DataFrame:
    """Accesses that can serve as member fingerprints: a member, no bot, some usable evidence
    (missing enrichment fields are kept: they fall back to coarser ones); at most the
    ``per_member`` most recent per member."""
    keep = (enriched["member_id"].fillna("") != "") & estimable(enriched)
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


FEATURE_VERSION = 2  # 2: optional fields with fallbacks (issue 15); models saved before cannot encode queries

DECISION_FEATURES = ["max_likelihood", "second_member_likelihood", "margin", "winner_top3_votes",
                     "winner_top10_share", "top3_mean_likelihood", "log_candidates", "log_A_count", "log_B_count",
                     "log_C_count", "log_prefix_count", "log_address_count"]


def address_keys(columns) -> tuple[np.ndarray, np.ndarray]:
    """(network prefix key, address key) per access: the /24 (/64) and, for IPv4, the address
    itself (an IPv6 /64 is one household already)."""
    from transforms.member_id.query import _hashes, _text

    prefix = _hashes([_text(v) for v in np.asarray(columns["ip_prefix"], dtype=object)])
    last = np.nan_to_num(np.asarray(columns["ip_o4"], dtype="float64"), nan=0.0).astype(np.uint64)
    v4 = np.asarray(columns["ip_version"], dtype="float64") == 4
    return prefix, np.where(v4, prefix ^ (last + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15), prefix)


class _Counter:
    """Counts of keys in the store, looked up with searchsorted."""

    def __init__(self, keys: np.ndarray):
        self.keys, self.counts = np.unique(keys, return_counts=True)

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.zeros(len(keys))
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, self.counts[pos], 0).astype("float64")


def decision_features(members: np.ndarray, likes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """What the no-member decision looks at for one query: how likely the best pair is, how far
    ahead of the next member, how concentrated the top is on one member, how many candidates,
    whether the query's UA+place+network groups exist in the store at all, and how many stored
    accesses come from its network prefix and its address (``counts``: A, B, C group counts,
    prefix count, address count)."""
    out = np.zeros(len(DECISION_FEATURES))
    out[7:7 + len(counts)] = np.log1p(np.nan_to_num(counts, nan=0.0))
    if not len(likes):
        return out
    order = np.argsort(-likes, kind="stable")
    winner, _ = top3_vote(members, likes)
    others = likes[members != winner]
    best = float(likes[order[0]])
    second = float(others.max()) if len(others) else 0.0
    top3, top10 = members[order[:3]], members[order[:10]]
    out[:7] = [best, second, best - second, float(np.sum(top3 == winner)), float(np.mean(top10 == winner)),
               float(likes[order[:3]].mean()), np.log1p(len(likes))]
    return out


@dataclass
class Estimate:
    status: str  # success | error
    member_id: str  # "" for no member
    likelihood: float
    reason: str = ""
    candidates: int = 0
    evidence: str = ""  # which evidence the answer rests on (enrich.derive), e.g. "ua=family;place=country;network=asn"
    probability: float | None = None  # calibrated P(the answer is right), when the model has a calibrator


class Estimator:
    """Holds the store's feature arrays, group statistics and candidate index, computed once;
    a batch of queries is then encoded, looked up and scored with numpy and one model call."""

    def __init__(self, model: PairModel, store: pd.DataFrame, threshold: float = 0.5, max_candidates: int = 400,
                 block_per_member: int = 1, calibrator=None, decision_model=None):
        """``calibrator``: isotonic map from the vote's likelihood to P(right member);
        ``decision_model``: P(known member) from :func:`decision_features` (the no-member
        threshold then applies to it); both fitted on a window disjoint from training
        (evaluation.calibrate)."""
        started = time.perf_counter()
        self.model, self.threshold, self.calibrator = model, threshold, calibrator
        self.decision_model = decision_model
        self.feature_version = FEATURE_VERSION
        self.store_members = store["member_id"].to_numpy(dtype=object)
        self.stats = GroupStats().fit(store)
        self.table = feature_table(store, self.stats)
        self.encoder = QueryEncoder(self.stats)
        self.index = CandidateIndex(store, max_candidates, block_per_member)
        prefix, address = address_keys({c: store[c].to_numpy() for c in ("ip_prefix", "ip_o4", "ip_version")})
        self.prefix_counts, self.address_counts = _Counter(prefix), _Counter(address)
        self.window = (str(store["ts"].min()), str(store["ts"].max()))
        log.info("estimator: %d stored accesses of %d members indexed in %.1fs (%.0f MB of arrays)", len(store),
                 len(set(self.store_members)), time.perf_counter() - started, self.nbytes() / 2**20)

    def nbytes(self) -> int:
        """Memory held by the store-side arrays (features, index, member ids' pointers)."""
        return (self.table.strings.nbytes + self.table.numbers.nbytes + self.index.nbytes()
                + self.store_members.nbytes)

    def score(self, queries) -> list[tuple[np.ndarray, np.ndarray]]:
        """(candidate rows, likelihoods) per query: enriched rows with every field derived, as a
        DataFrame or as arrays by column name (:data:`query.QUERY_COLUMNS`)."""
        return self.score_with_counts(queries)[0]

    def score_with_counts(self, queries) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """:meth:`score` and, per query, the A/B/C group counts, the prefix and the address counts
        in the store."""
        columns = query_columns(queries) if isinstance(queries, pd.DataFrame) else queries
        table, keys = self.encoder.encode(columns)
        ia, ib, bounds = self.index.lookup(keys)
        likes = self.model.likelihood(pair_vectors(table, ia, self.table, ib))
        counts = table.numbers[:, [table.number_names.index(f"{g}_count") for g in "ABC"]].astype("float64")
        if hasattr(self, "prefix_counts"):
            prefix, address = address_keys(columns)
            counts = np.column_stack([counts, self.prefix_counts(prefix), self.address_counts(address)])
        return [(ib[bounds[i]:bounds[i + 1]], likes[bounds[i]:bounds[i + 1]]) for i in range(len(keys))], counts

    def known_scores(self, scored: list, counts: np.ndarray) -> np.ndarray:
        """Per query, the score the no-member threshold applies to: P(a known member) from the
        decision model when there is one (fitted on a calibration window), else the max likelihood."""
        model = getattr(self, "decision_model", None)
        if model is None:
            return np.array([float(likes.max()) if len(likes) else 0.0 for _, likes in scored])
        features = np.vstack([decision_features(self.store_members[rows], likes, c)
                              for (rows, likes), c in zip(scored, counts)]) if scored else np.zeros((0, len(DECISION_FEATURES)))
        return model.predict_proba(features)[:, 1] if len(features) else np.zeros(0)

    def decide(self, rows: np.ndarray, likes: np.ndarray, threshold: float | None = None,
               known_score: float | None = None) -> Estimate:
        """``known_score``: from :meth:`known_scores` (default: the max likelihood)."""
        threshold = self.threshold if threshold is None else threshold
        if known_score is None:
            known_score = float(likes.max()) if len(likes) else 0.0
        if len(rows) == 0 or known_score < threshold:
            return Estimate("success", "", float(likes.max()) if len(likes) else 0.0, candidates=len(rows))
        member, like = top3_vote(self.store_members[rows], likes)
        calibrator = getattr(self, "calibrator", None)
        probability = float(calibrator.predict(np.array([like]))[0]) if calibrator is not None else None
        return Estimate("success", str(member), like, candidates=len(rows), probability=probability)

    def estimate(self, queries) -> list[Estimate]:
        """One result per enriched query row (a DataFrame, or arrays by column name with
        ``unusable`` and ``evidence`` as from :func:`enrich.enrich_columns`); only bots and rows
        with no usable evidence at all get status error. Each answer names its evidence."""
        if isinstance(queries, pd.DataFrame):
            unusable = queries["unusable"].fillna("").to_numpy()
            evidence = queries["evidence"].fillna("").to_numpy()
            columns = query_columns(queries)
        else:
            unusable, evidence, columns = queries["unusable"], queries["evidence"], queries
        unusable = np.asarray(unusable, dtype=object)
        if getattr(self, "feature_version", 1) != FEATURE_VERSION:  # pickled by an older release
            return [Estimate("error", "", 0.0, reason="model saved before the current features: retrain")
                    for _ in unusable]
        ok = np.flatnonzero(unusable == "")
        results: list = [Estimate("error", "", 0.0, reason=str(u), evidence=str(e)) if u else None
                         for u, e in zip(unusable, evidence)]
        if len(ok):
            subset = {c: np.asarray(columns[c])[ok] for c in QUERY_COLUMNS}
            scored, counts = self.score_with_counts(subset)
            for i, (rows, likes), known in zip(ok, scored, self.known_scores(scored, counts)):
                results[i] = self.decide(rows, likes, known_score=float(known))
                results[i].evidence = str(evidence[i])
        return results
