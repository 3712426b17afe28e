"""Candidate index: an estimation scores only stored accesses that share a block with the query.

Blocks: (UA string, ISP) and (UA string, city) (the paper's group keys B, C), network prefix
(/24 or /64), (browser family, OS family, ISP) for browser updates, and (device brand+model, OS
family, ISP). Each block keeps its most recent ``max_candidates`` accesses; the union is ranked by
how many blocks a stored access shares with the query, then recency, and cut to
``max_candidates``. How often the true member survives (blocking recall) is measured by the
evaluation.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.member_id.features import hash_strings, joined

BLOCKS = [("user_agent", "isp"), ("user_agent", "city"), ("ip_prefix",), ("browser_name", "os_name", "isp"),
          ("device_brand", "device_model", "os_name", "isp")]


def block_keys(frame: pd.DataFrame) -> np.ndarray:
    """(n, len(BLOCKS)) uint64 keys; a block index is mixed in so equal values of different blocks differ."""
    cols = [hash_strings([f"{text}#{i}" for text in joined(frame, list(cols))])
            for i, cols in enumerate(BLOCKS)]
    return np.column_stack(cols)


class CandidateIndex:
    def __init__(self, store: pd.DataFrame, max_candidates: int = 400):
        self.max_candidates = max_candidates
        per_block = max_candidates
        keys = block_keys(store)
        recency = store["unix_time"].to_numpy()
        self.recency = recency
        self.blocks: dict[int, np.ndarray] = {}
        for j in range(keys.shape[1]):
            order = np.lexsort((-recency, keys[:, j]))  # by key, newest first
            sorted_keys = keys[order, j]
            starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
            ends = np.r_[starts[1:], len(order)]
            for s, e in zip(starts, ends):
                self.blocks[int(sorted_keys[s])] = order[s:min(e, s + per_block)]

    def candidates(self, query_keys: np.ndarray) -> np.ndarray:
        """Store rows to score for one query (its row of :func:`block_keys`)."""
        found = [self.blocks[k] for k in map(int, query_keys) if k in self.blocks]
        if not found:
            return np.empty(0, dtype=np.int64)
        rows, shared = np.unique(np.concatenate(found), return_counts=True)
        if len(rows) > self.max_candidates:
            rows = rows[np.lexsort((-self.recency[rows], -shared))[:self.max_candidates]]
        return rows
