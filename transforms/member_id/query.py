"""Numpy-only encoding of query accesses: the estimation hot path.

The DataFrame encoders (:func:`features.feature_table`, :func:`candidates.block_keys`) suit the
million-row store, but for a few queries their per-call pandas overhead dominated an estimation.
:class:`QueryEncoder` turns the fitted group statistics into sorted arrays once, then encodes
query columns (plain arrays) with cached hashes and ``searchsorted`` look-ups. It returns exactly
what the DataFrame encoders return (``tests/member_id/test_fast_path.py``).
"""
from __future__ import annotations

import functools
from typing import Mapping

import numpy as np

from transforms.member_id.candidates import BLOCKS
from transforms.member_id.features import (GROUP_KEYS, GROUP_X, GROUP_Y, STAT_X, FeatureTable, GroupStats,
                                           stable_hash)
from transforms.member_id.schemas import NUMERIC_FEATURES, STRING_FEATURES

QUERY_COLUMNS = STRING_FEATURES + NUMERIC_FEATURES
_SEP = "\x1f"


def _text(value) -> str:
    return "" if value is None or value != value else str(value)


@functools.lru_cache(maxsize=500_000)
def _hash(text: str) -> int:
    return stable_hash(text)


def _hashes(texts) -> np.ndarray:
    return np.fromiter((_hash(t) for t in texts), dtype=np.uint64, count=len(texts))


def _joined(columns: Mapping[str, np.ndarray], names) -> list[str]:
    return [_SEP.join(parts) for parts in zip(*([_text(v) for v in columns[c]] for c in names))]


class _GroupLookup:
    """One group's statistics as arrays sorted by key hash, plus a trailing all-NaN row for
    groups absent from the store."""

    def __init__(self, table):
        numeric = table.select_dtypes("number")
        order = np.argsort(table.index.to_numpy(dtype=np.uint64), kind="stable")
        self.keys = table.index.to_numpy(dtype=np.uint64)[order]
        self.names = list(numeric.columns)
        self.column = {name: j for j, name in enumerate(self.names)}
        matrix = numeric.to_numpy(dtype="float64")[order]
        self.matrix = np.vstack([matrix, np.full((1, matrix.shape[1]), np.nan)])
        modes = [c for c in table.columns if c.endswith("_mode")]
        self.modes = (np.r_[table[modes[0]].astype(object).to_numpy()[order], np.array([None], dtype=object)]
                      if modes else None)

    def positions(self, keys: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.zeros(len(keys), dtype=np.int64)  # the NaN row
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, pos, len(self.keys))


class QueryEncoder:
    def __init__(self, stats: GroupStats):
        self.groups = {group: _GroupLookup(table) for group, table in stats.tables.items()}

    def encode(self, columns: Mapping[str, np.ndarray]) -> tuple[FeatureTable, np.ndarray]:
        """(feature table, block keys) of query rows given as arrays by column name; equal to
        ``feature_table(frame, stats)`` and ``block_keys(frame)`` of the same rows."""
        string_cols = [_hashes([_text(v) for v in columns[c]]) for c in STRING_FEATURES]
        string_names = list(STRING_FEATURES)
        number_cols = [np.asarray(columns[c], dtype="float64") for c in NUMERIC_FEATURES]
        number_names = list(NUMERIC_FEATURES)
        for group, lookup in self.groups.items():
            pos = lookup.positions(_hashes(_joined(columns, GROUP_KEYS[group])))
            looked = lambda name: lookup.matrix[pos, lookup.column[name]]  # noqa: E731
            number_cols.append(np.nan_to_num(looked("count"), nan=0.0))
            number_names.append(f"{group}_count")
            for x in GROUP_X[group]:
                value = np.asarray(columns[x], dtype="float64")
                mean, std = looked(f"{x}_mean"), looked(f"{x}_std")
                with np.errstate(invalid="ignore"):
                    derived = [looked(f"{x}_{stat}") for stat in STAT_X] + [
                        value - mean, value - looked(f"{x}_q2"),
                        (np.abs(value - mean) <= std).astype("float64"),
                        (np.abs(value - mean) <= 2 * std).astype("float64")]
                number_cols += derived
                number_names += [f"{group}_{x}_{s}" for s in STAT_X + ["dmean", "dmedian", "in1s", "in2s"]]
            if group in GROUP_Y:
                y = GROUP_Y[group]
                mode = lookup.modes[pos]
                string_cols.append(_hashes([_text(v) for v in mode]))
                string_names.append(f"{group}_{y}_mode")
                number_cols += [looked(f"{y}_mode_count"),
                                (mode == np.asarray(columns[y], dtype=object)).astype("float64"),
                                looked(f"{y}_nunique")]
                number_names += [f"{group}_{y}_mode_count", f"{group}_{y}_match", f"{group}_{y}_nunique"]
        n = len(number_cols[0])
        table = FeatureTable(np.column_stack(string_cols).reshape(n, -1),
                             np.column_stack(number_cols).reshape(n, -1).astype("float32"),
                             string_names, number_names)
        blocks = np.column_stack([_hashes([f"{text}#{i}" for text in _joined(columns, cols)])
                                  for i, cols in enumerate(BLOCKS)]).reshape(n, -1)
        return table, blocks


def query_columns(frame) -> dict[str, np.ndarray]:
    """The encoder's input columns of an enriched DataFrame."""
    return {c: frame[c].to_numpy() for c in QUERY_COLUMNS}
