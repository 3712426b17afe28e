"""Visits prepared once for pairwise comparison: every attribute factorised to integer codes.

Methods then compare pairs ``(i, j)`` of rows with numpy on codes, and compute anything costly
(string ratios, set overlaps, ssdeep scores) once per *distinct* value pair, not per visit pair.
"""
from __future__ import annotations

from difflib import SequenceMatcher

import numpy as np
import pandas as pd
import scipy.sparse as sp

from transforms.fingerprint import attributes as attrs
from transforms.fingerprint.fuzzy import FuzzyIndex

DENSE_LIMIT = 6000  # distinct values up to which pairwise tables are kept as dense matrices


def _factorise(values) -> tuple[np.ndarray, list]:
    codes, uniques = pd.factorize(pd.Series(values, dtype="object"), use_na_sentinel=True)
    return codes.astype(np.int64), list(uniques)


class SetOverlap:
    """Overlap of item sets (fonts, plugins) between value codes."""

    def __init__(self, texts: list[str], separator: str):
        items = [sorted(set(t.split(separator))) if t else [] for t in texts]
        vocabulary: dict[str, int] = {}
        rows, cols = [], []
        for row, values in enumerate(items):
            for value in values:
                rows.append(row)
                cols.append(vocabulary.setdefault(value, len(vocabulary)))
        self.matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                    shape=(len(texts), max(len(vocabulary), 1)))
        self.sizes = np.asarray(self.matrix.sum(axis=1)).ravel()
        self.dense = None

    def intersection(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.dense is None and len(a) > 100_000 and self.matrix.shape[0] <= DENSE_LIMIT:
            self.dense = (self.matrix @ self.matrix.T).toarray()  # many pairs: all overlaps at once
        if self.dense is not None:
            return self.dense[a, b]
        keys, inverse = np.unique(np.stack([a, b]), axis=1, return_inverse=True)
        inter = np.asarray(self.matrix[keys[0]].multiply(self.matrix[keys[1]]).sum(axis=1)).ravel()
        return inter[inverse.ravel()]

    def dice(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """2|A∩B| / (|A|+|B|); two empty sets are identical (1.0)."""
        total = self.sizes[a] + self.sizes[b]
        return np.where(total > 0, 2 * self.intersection(a, b) / np.maximum(total, 1), 1.0)

    def jaccard(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        inter = self.intersection(a, b)
        union = self.sizes[a] + self.sizes[b] - inter
        return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


class VisitTable:
    def __init__(self, visits: pd.DataFrame):
        visits = visits.reset_index(drop=True)
        self.visits = visits
        self.n = len(visits)
        self.codes: dict[str, np.ndarray] = {}
        self.values: dict[str, list] = {}
        for name in attrs.ATTRIBUTES:
            column = visits[name] if name in visits else pd.Series([None] * self.n, dtype="object")
            self.codes[name], self.values[name] = _factorise(column.where(column.notna(), None))
        ts = pd.to_datetime(visits["ts"], utc=True, format="ISO8601")
        self.days = (ts - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy() / 86400.0
        self.uid = visits["uid"].to_numpy(dtype=object) if "uid" in visits else np.array([None] * self.n, dtype=object)
        # derived attributes
        screen = [self._value("screen", i) for i in range(self.n)]
        self.resolution_code, _ = _factorise([s.rsplit("x", 1)[0] if s else None for s in screen])
        self.depth_code, _ = _factorise([s.rsplit("x", 1)[1] if s and s.count("x") >= 2 else None for s in screen])
        headers = visits.reindex(columns=HEADER_ATTRIBUTES).astype("object").where(lambda f: f.notna(), "")
        self.headers_code, self.headers_values = _factorise(headers.agg("\n".join, axis=1).tolist() if self.n else [])
        parsed = [attrs.parse_user_agent(v) for v in self.values["http_user_agent"]] + [("", -1, "")]
        ua = self.codes["http_user_agent"]
        self.ua_family, _ = _factorise([parsed[c][0] for c in ua])
        self.ua_version = np.array([parsed[c][1] for c in ua], dtype=np.int64)
        self.ua_os, _ = _factorise([parsed[c][2] for c in ua])
        self.ua_platform, _ = _factorise([parsed[c][2].split(" ")[0] for c in ua])
        self.fonts = SetOverlap([v or "" for v in self.values["fonts"]] + [""], ",")
        self.plugins = SetOverlap([v or "" for v in self.values["plugins"]] + [""], ";")
        self.ip16, _ = _factorise([".".join(str(v).split(".")[:2]) if v is not None else None for v in visits.get("global_ip", [None] * self.n)])
        self.missing = np.zeros(self.n, dtype=np.int64)
        for name in attrs.ATTRIBUTES:
            self.missing += self.codes[name] < 0
        hashes = visits["fp_ssdeep"] if "fp_ssdeep" in visits else [
            attrs.fuzzy_hash(attrs.canonical_string(r)) for r in visits.to_dict("records")]
        self.hash_code, self.hash_values = _factorise(list(hashes))
        md5s = visits["fp_md5"] if "fp_md5" in visits else [
            attrs.md5(attrs.canonical_string(r)) for r in visits.to_dict("records")]
        self.md5_code, _ = _factorise(list(md5s))
        self._fuzzy_index: FuzzyIndex | None = None
        self._fuzzy_rows: dict[int, np.ndarray] = {}
        self._ratio_cache: dict[tuple, float] = {}

    def _value(self, name: str, row: int):
        code = self.codes[name][row]
        return self.values[name][code] if code >= 0 else None

    def set_code(self, name: str) -> np.ndarray:
        """Codes for SetOverlap lookups (a missing value maps to the trailing empty set)."""
        codes = self.codes[name]
        return np.where(codes < 0, len(self.values[name]), codes)

    def equal(self, name: str, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return self.codes[name][i] == self.codes[name][j]

    def fuzzy_scores(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """ssdeep scores of visit pairs. Each distinct hash on the ``j`` side is queried once
        through the 7-gram index; its scores against all distinct hashes are then cached."""
        if self._fuzzy_index is None:
            self._fuzzy_index = FuzzyIndex(self.hash_values)
        distinct = len(self.hash_values)
        wanted, position = np.unique(self.hash_code[j], return_inverse=True)
        block = np.zeros((len(wanted), distinct), dtype=np.uint8)
        for row, code in enumerate(wanted):
            if code not in self._fuzzy_rows:
                scores = np.zeros(distinct, dtype=np.uint8)
                rows, values = self._fuzzy_index.scores(self.hash_values[code])
                scores[rows] = values
                self._fuzzy_rows[code] = scores
            block[row] = self._fuzzy_rows[code]
        return block[position.ravel(), self.hash_code[i]].astype(np.float64)

    def ratio(self, kind: str, a: int, b: int) -> float:
        """difflib ratio between two distinct values of an attribute (cached per value pair)."""
        key = (kind, min(a, b), max(a, b))
        if key not in self._ratio_cache:
            values = self.headers_values if kind == "headers" else self.values[kind]
            self._ratio_cache[key] = SequenceMatcher(None, values[a] or "", values[b] or "").ratio() if a >= 0 and b >= 0 else 0.0
        return self._ratio_cache[key]


HEADER_ATTRIBUTES = ["accept_language", "accept", "origin", "connection", "referer", "accept_encoding", "accept_charset"]


def _row_pairs(n: int, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    i = np.concatenate([np.full(n - 1 - r, r, dtype=np.int64) for r in rows])
    j = np.concatenate([np.arange(r + 1, n, dtype=np.int64) for r in rows])
    return i, j


def all_pairs(n: int, chunk: int = 1_000_000, shard: int = 0, shards: int = 1):
    """Every (i, j), i < j, in chunks of about ``chunk`` pairs. With ``shards`` > 1, only the
    pairs whose first visit i ≡ ``shard`` (mod ``shards``): the shards split the pairs exactly,
    and interleaving the rows keeps their sizes even (row i holds n - 1 - i pairs)."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} not in 0..{shards - 1}")
    rows, total = [], 0
    for r in range(shard, n - 1, shards):
        rows.append(r)
        total += n - 1 - r
        if total >= chunk:
            yield _row_pairs(n, rows)
            rows, total = [], 0
    if rows:
        yield _row_pairs(n, rows)
