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
from transforms.fingerprint.informative import EntropyWeights, informative_string

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
    def __init__(self, visits: pd.DataFrame, weights: EntropyWeights | None = None):
        """``weights``: per-attribute entropy for the informative representation (default:
        estimated from these visits, i.e. the store being linked against)."""
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
        # identity for one-to-many linking figures: the generator's truth when every visit has one
        # (a cleared cookie splits a device into several UIDs), else the cookie UID
        truth = visits["truth_device"] if "truth_device" in visits else None
        self.identity = truth.to_numpy(dtype=object) if truth is not None and self.n and truth.notna().all() else self.uid
        # derived attributes
        screens = [attrs.parse_screen(v) for v in self.values["screen"]] + [None]
        screen = self.codes["screen"]
        self.resolution_code, _ = _factorise([f"{p[0]}x{p[1]}" if p else (self.values["screen"][c] if c >= 0 else None)
                                              for c, p in zip(screen, (screens[c] for c in screen))])
        self.depth_code, _ = _factorise([p[2] if p and p[2] >= 0 else None for p in (screens[c] for c in screen)])
        headers = visits.reindex(columns=HEADER_ATTRIBUTES).astype("object").where(lambda f: f.notna(), "")
        self.headers_code, self.headers_values = _factorise(headers.agg("\n".join, axis=1).tolist() if self.n else [])
        parsed = [attrs.parse_ua(v) for v in self.values["http_user_agent"]] + [attrs.parse_ua(None)]
        ua = self.codes["http_user_agent"]
        self.ua_family, _ = _factorise([parsed[c].family for c in ua])
        self.ua_version = np.array([parsed[c].major for c in ua], dtype=np.int64)
        self.ua_os, _ = _factorise([f"{parsed[c].os_family} {parsed[c].os_major}" for c in ua])
        self.ua_platform, _ = _factorise([parsed[c].os_family for c in ua])
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
        self._fuzzy_index: dict[str, FuzzyIndex] = {}
        self._fuzzy_rows: dict[tuple[str, int], np.ndarray] = {}
        self._ratio_cache: dict[tuple, float] = {}
        self.weights = weights or EntropyWeights.from_codes(self.codes)
        self._informative: tuple[np.ndarray, list] | None = None
        self._surprisal: dict[str, np.ndarray] = {}

    @property
    def informative_hashes(self) -> tuple[np.ndarray, list]:
        """(code per row, distinct values) of the ssdeep hash of each row's informative string
        (present attributes weighted by entropy); rows with nothing informative have code −1."""
        if self._informative is None:
            texts = [informative_string({n: self._value(n, r) for n in attrs.ATTRIBUTES}, self.weights)
                     for r in range(self.n)]
            hashes = [attrs.fuzzy_hash(t) if t else None for t in texts]
            self._informative = _factorise(hashes)
        return self._informative

    def present_both(self, name: str, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return (self.codes[name][i] >= 0) & (self.codes[name][j] >= 0)

    def surprisal(self, name: str) -> np.ndarray:
        """Per row: bits of information in its value of ``name`` (−log2 of the share of rows with
        a value that carry this one); 0 when missing."""
        if name not in self._surprisal:
            codes = self.codes[name]
            present = codes[codes >= 0]
            bits = np.zeros(self.n)
            if len(present):
                counts = np.bincount(present)
                share = counts[np.maximum(codes, 0)] / len(present)
                bits = np.where(codes >= 0, -np.log2(np.maximum(share, 1e-300)), 0.0)
            self._surprisal[name] = bits
        return self._surprisal[name]

    def shared_bits(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bits of the values the pair shares, entropy of the attributes it differs on, attributes
        present on both): agreement on common values and on missing ones counts for little or nothing."""
        shared, differ, both = np.zeros(len(i)), np.zeros(len(i)), np.zeros(len(i))
        for name in attrs.ATTRIBUTES:
            present = self.present_both(name, i, j)
            if not present.any():
                continue
            equal = present & (self.codes[name][i] == self.codes[name][j])
            shared += np.where(equal, self.surprisal(name)[i], 0.0)
            differ += np.where(present & ~equal, self.weights.bits.get(name, 0.0), 0.0)
            both += present
        return shared, differ, both

    def _value(self, name: str, row: int):
        code = self.codes[name][row]
        return self.values[name][code] if code >= 0 else None

    def set_code(self, name: str) -> np.ndarray:
        """Codes for SetOverlap lookups (a missing value maps to the trailing empty set)."""
        codes = self.codes[name]
        return np.where(codes < 0, len(self.values[name]), codes)

    def equal(self, name: str, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return self.codes[name][i] == self.codes[name][j]

    def fuzzy_scores(self, i: np.ndarray, j: np.ndarray, kind: str = "canonical") -> np.ndarray:
        """ssdeep scores of visit pairs, of the paper's canonical strings (``kind="canonical"``) or
        of the informative strings (``"informative"``; a row with nothing informative scores 0).
        Each distinct hash on the ``j`` side is queried once through the 7-gram index; its scores
        against all distinct hashes are then cached."""
        if kind == "canonical":
            codes, values = self.hash_code, self.hash_values
        else:
            codes, values = self.informative_hashes
        if not values:
            return np.zeros(len(i))
        if kind not in self._fuzzy_index:
            self._fuzzy_index[kind] = FuzzyIndex(values)
        distinct = len(values)
        wanted, position = np.unique(np.maximum(codes[j], 0), return_inverse=True)
        block = np.zeros((len(wanted), distinct), dtype=np.uint8)
        for row, code in enumerate(wanted):
            if (kind, code) not in self._fuzzy_rows:
                scores = np.zeros(distinct, dtype=np.uint8)
                rows, found = self._fuzzy_index[kind].scores(values[code])
                scores[rows] = found
                self._fuzzy_rows[(kind, code)] = scores
            block[row] = self._fuzzy_rows[(kind, code)]
        out = block[position.ravel(), np.maximum(codes[i], 0)].astype(np.float64)
        return np.where((codes[i] >= 0) & (codes[j] >= 0), out, 0.0)

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
