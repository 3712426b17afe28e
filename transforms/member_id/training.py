"""Training pairs, streamed in chunks, and the two pairwise classifiers (paper MLP, boosting).

Pairs are drawn from the store window only: positives are two accesses of one member, negatives
two random accesses (and "hard" ones from the same candidate block); labels always come from
member equality. Chunks are generated from a seed, so any number of pairs can be streamed
without holding them all (the MLP learns chunk by chunk with ``partial_fit``; boosting fits on
a capped in-memory sample).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from transforms.member_id.candidates import block_keys
from transforms.member_id.features import FeatureTable, GroupStats, feature_table, pair_feature_names, pair_vectors

log = logging.getLogger(__name__)
THREADS = int(os.environ.get("TRACKSCOPE_MID_THREADS", "1"))
PREDICT_ROWS = 2048  # a 2,048-row block of pair vectors (~2 MB as float64) fits in cache: 3x faster than one call
_CONTROLLER = None


def threadpool_limits(threads: int):
    """Thread cap for BLAS/OpenMP; the library scan is done once (it costs ~20 ms per call)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=threads)


class PairSampler:
    def __init__(self, store: pd.DataFrame, table: FeatureTable, hard_share: float = 0.5):
        self.table, self.hard_share = table, hard_share
        members = store["member_id"].to_numpy()
        self.member_codes, uniques = pd.factorize(members)
        order = np.argsort(self.member_codes, kind="stable")
        counts = np.bincount(self.member_codes, minlength=len(uniques))
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        self.by_member, self.member_start, self.member_count = order, starts, counts
        self.place_in_member = np.empty(len(members), dtype=np.int64)
        self.place_in_member[order] = np.arange(len(members)) - starts[self.member_codes[order]]
        self.repeat_rows = np.flatnonzero(counts[self.member_codes] >= 2)
        keys = block_keys(store)[:, 0]  # same UA string and ISP: look-alikes of other members
        self.block_order = np.argsort(keys, kind="stable")
        sorted_keys = keys[self.block_order]
        self.block_start = np.searchsorted(sorted_keys, keys, side="left")
        self.block_size = np.searchsorted(sorted_keys, keys, side="right") - self.block_start

    def chunk(self, rng: np.random.Generator, positives: int, negatives: int):
        n = len(self.member_codes)
        i_pos = rng.choice(self.repeat_rows, positives) if len(self.repeat_rows) else np.empty(0, int)
        m = self.member_codes[i_pos]
        # another row of the same member: skip 1..count-1 places from i's place among its member's rows
        offset = rng.integers(0, self.member_count[m] - 1) if len(m) else np.empty(0, int)
        pos_i = self.place_in_member[i_pos]
        j_pos = self.by_member[self.member_start[m] + (pos_i + 1 + offset) % self.member_count[m]]
        hard = int(negatives * self.hard_share)
        i_hard = rng.integers(0, n, hard)
        j_hard = self.block_order[self.block_start[i_hard] + rng.integers(0, self.block_size[i_hard])]
        i_rand, j_rand = rng.integers(0, n, negatives - hard), rng.integers(0, n, negatives - hard)
        ia = np.concatenate([i_pos, i_hard, i_rand])
        ib = np.concatenate([j_pos, j_hard, j_rand])
        keep = ia != ib
        ia, ib = ia[keep], ib[keep]
        labels = (self.member_codes[ia] == self.member_codes[ib]).astype(np.int8)
        return pair_vectors(self.table, ia, self.table, ib), labels

    def stream(self, total: int, chunk: int, negative_ratio: float, seed: int) -> Iterator[tuple]:
        rng = np.random.default_rng(seed)
        done, started = 0, time.perf_counter()
        while done < total:
            size = min(chunk, total - done)
            positives = int(round(size / (1 + negative_ratio)))
            X, y = self.chunk(rng, positives, size - positives)
            done += size
            log.info("pairs %d/%d (%.0f pairs/s)", done, total, done / max(time.perf_counter() - started, 1e-9))
            yield X, y


@dataclass
class PairModel:
    """'Same member?' likelihood for pair vectors."""
    kind: str  # gbm | mlp
    classifier: object
    feature_names: list
    scale: tuple = field(default=None)  # (mean, std) for the MLP

    def likelihood(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.empty(0)
        if self.scale is not None:
            X = np.nan_to_num((X - self.scale[0]) / self.scale[1], nan=0.0, posinf=0.0, neginf=0.0)
        with threadpool_limits(THREADS):  # row blocks that stay in cache: every tree walks all rows
            return np.concatenate([self.classifier.predict_proba(X[start:start + PREDICT_ROWS])[:, 1]
                                   for start in range(0, len(X), PREDICT_ROWS)])


def train_gbm(sampler: PairSampler, total: int, chunk: int, negative_ratio: float, seed: int,
              max_pairs: int, names: list) -> PairModel:
    from sklearn.ensemble import HistGradientBoostingClassifier

    Xs, ys = zip(*sampler.stream(min(total, max_pairs), chunk, negative_ratio, seed))
    X, y = np.concatenate(Xs), np.concatenate(ys)
    empty = np.isnan(X).all(axis=0)  # a field no database gives (e.g. ISP with City + ASN): no split on it
    X[:, empty] = 0.0
    started = time.perf_counter()
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.15, max_leaf_nodes=31,
                                           early_stopping=True, validation_fraction=0.1, random_state=seed)
    with threadpool_limits(THREADS):  # OpenMP spinning on a shared small machine costs more than it gains
        model.fit(X, y)
    log.info("gbm: %d pairs (%.1f%% positive), %d iterations, %.1fs", len(y), 100 * y.mean(), model.n_iter_,
             time.perf_counter() - started)
    return PairModel("gbm", model, names)


def train_mlp(sampler: PairSampler, total: int, chunk: int, negative_ratio: float, seed: int,
              hidden: tuple, epochs: int, names: list) -> PairModel:
    """The paper's MLP (hidden 500-500-500-50, ReLU, batch 2,000, binary cross-entropy), streamed.
    scikit-learn has no BatchNorm/dropout/Adagrad: inputs are standardised, L2 regularises, Adam optimises."""
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", batch_size=2000, alpha=1e-4,
                          learning_rate_init=1e-3, random_state=seed)
    scale = None
    started = time.perf_counter()
    for epoch in range(epochs):
        for X, y in sampler.stream(total, chunk, negative_ratio, seed):  # same pairs every epoch
            if scale is None:
                mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
                scale = (np.nan_to_num(mean), np.where(np.nan_to_num(std) > 0, np.nan_to_num(std), 1.0))
            Xn = np.nan_to_num((X - scale[0]) / scale[1], nan=0.0, posinf=0.0, neginf=0.0)
            with threadpool_limits(THREADS):
                model.partial_fit(Xn, y, classes=np.array([0, 1]))
        log.info("mlp: epoch %d/%d done, loss %.4f, %.1fs", epoch + 1, epochs, model.loss_, time.perf_counter() - started)
    return PairModel("mlp", model, names, scale)


def fit_pair_models(store, kinds, p: dict) -> dict:
    """The pair models of ``kinds`` (gbm, mlp) trained on pairs of ``store``'s accesses; ``p``:
    pairs, chunk, negative_ratio, hard_negative_share, seed, gbm_max_pairs, mlp_hidden, mlp_epochs."""
    table = feature_table(store, GroupStats().fit(store))
    sampler = PairSampler(store, table, p["hard_negative_share"])
    names = pair_feature_names(table)
    args = (p["pairs"], p["chunk"], p["negative_ratio"], p["seed"])
    trainers = {"gbm": lambda: train_gbm(sampler, *args, p["gbm_max_pairs"], names),
                "mlp": lambda: train_mlp(sampler, *args, tuple(int(x) for x in str(p["mlp_hidden"]).split(",")),
                                         p["mlp_epochs"], names)}
    return {kind: trainers[kind]() for kind in kinds}
