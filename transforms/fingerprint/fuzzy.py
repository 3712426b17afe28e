"""ssdeep comparisons, exact but vectorised, and the 7-gram index for one-to-many matching.

libfuzzy's ``fuzzy_compare`` (ssdeep 2.14) scores two hashes ``bs:h1:h2`` as follows: runs of
more than 3 identical characters are cut to 3; identical hashes score 100; otherwise only parts
with the same block size are compared (h1/h1 and h2/h2 when block sizes are equal, h1 of the
larger block size against h2 of the smaller when they are a factor of two apart), and a part pair
scores only if the two strings share a 7-character substring. The part score is derived from the
edit distance with insert/delete cost 1 and replace cost 2, i.e. ``len1 + len2 - 2 * LCS``.

:func:`score_against` computes exactly that for one query against many hashes at once: the LCS
with the bit-parallel algorithm (Allison–Dix / Crochemore et al.) over 64-bit words, one numpy
step per character, across all candidates. The :class:`FuzzyIndex` finds the candidates: every
hash is posted under (block size, 7-gram) keys, so a query only meets hashes that can score > 0;
its per-query loops are compiled (:mod:`transforms.fingerprint.fuzzy_kernels`). Tests check both
against ``ssdeep.compare`` itself.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from transforms.fingerprint import fuzzy_kernels as kernels

log = logging.getLogger(__name__)

SPAMSUM_LENGTH = 64
ROLLING_WINDOW = 7
MIN_BLOCKSIZE = 3
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_CHAR_CODE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(B64):
    _CHAR_CODE[ord(_c)] = _i
_RUNS = re.compile(r"(.)\1{3,}")
GRAM_BITS = 6 * ROLLING_WINDOW  # 42 bits: 7 base64 characters


def eliminate_sequences(part: str) -> str:
    """ssdeep's normalisation: a run of more than three identical characters becomes three."""
    return _RUNS.sub(lambda m: m.group(1) * 3, part)


@dataclass(frozen=True)
class ParsedHash:
    block_size: int
    h1: str
    h2: str


def parse(fuzzy_hash: str) -> ParsedHash:
    bs, h1, h2 = fuzzy_hash.split(":", 2)
    h2 = h2.split(",", 1)[0]  # "bs:h1:h2,filename" form
    return ParsedHash(int(bs), eliminate_sequences(h1), eliminate_sequences(h2))


def _encode(parts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parts as an (n, 64) matrix of 6-bit codes plus their lengths."""
    matrix = np.zeros((len(parts), SPAMSUM_LENGTH), dtype=np.uint8)
    lengths = np.zeros(len(parts), dtype=np.int64)
    for row, part in enumerate(parts):
        raw = np.frombuffer(part.encode("ascii")[:SPAMSUM_LENGTH], dtype=np.uint8)
        matrix[row, : len(raw)] = _CHAR_CODE[raw]
        lengths[row] = len(raw)
    return matrix, lengths


def _histograms(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    hist = np.zeros((len(codes), 64), dtype=np.uint8)
    rows = np.arange(len(codes))
    for k in range(SPAMSUM_LENGTH):
        present = k < lengths
        hist[rows[present], codes[present, k]] += 1
    return hist


def _score_from_lcs(m: int, lengths: np.ndarray, lcs: np.ndarray, block_size: int) -> np.ndarray:
    """libfuzzy's score_strings given the LCS (monotone in it)."""
    distance = m + lengths - 2 * lcs
    score = (distance * SPAMSUM_LENGTH) // (m + lengths)
    score = (100 * score) // SPAMSUM_LENGTH
    score = np.where(score >= 100, 0, 100 - score)
    if block_size < (99 + ROLLING_WINDOW) // ROLLING_WINDOW * MIN_BLOCKSIZE:
        score = np.minimum(score, block_size // MIN_BLOCKSIZE * np.minimum(m, lengths))
    return score


def _lcs_lengths(pattern: str, texts: np.ndarray, text_lengths: np.ndarray) -> np.ndarray:
    """LCS length of ``pattern`` (≤ 64 chars) with each row of ``texts``, all rows at once."""
    m = len(pattern)
    if m == 0 or len(texts) == 0:
        return np.zeros(len(texts), dtype=np.int64)
    masks = np.zeros(64, dtype=np.uint64)
    for position, char in enumerate(pattern):
        masks[B64.index(char)] |= np.uint64(1) << np.uint64(position)
    v = np.full(len(texts), np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    for k in range(int(text_lengths.max(initial=0))):
        match = masks[texts[:, k]]
        u = v & match
        updated = (v + u) | (v & ~match)
        v = np.where(k < text_lengths, updated, v)
    window = np.uint64((1 << m) - 1) if m < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
    return np.bitwise_count(~v & window).astype(np.int64)


def _part_scores(pattern: str, texts: np.ndarray, text_lengths: np.ndarray, block_size: int,
                 comparable: np.ndarray) -> np.ndarray:
    """libfuzzy's score_strings for one pattern against many texts (0 where not comparable)."""
    m = len(pattern)
    scores = np.zeros(len(texts), dtype=np.int64)
    ok = comparable & (text_lengths >= ROLLING_WINDOW) & (m >= ROLLING_WINDOW)
    if not ok.any():
        return scores
    lcs = _lcs_lengths(pattern, texts[ok], text_lengths[ok])
    score = _score_from_lcs(m, text_lengths[ok], lcs, block_size)
    scores[ok] = score
    return scores


@dataclass
class HashTable:
    """Many hashes, parsed and encoded once (the stored side of comparisons)."""

    hashes: list[str]
    block_sizes: np.ndarray
    h1: np.ndarray
    h1_len: np.ndarray
    h2: np.ndarray
    h2_len: np.ndarray
    normalised: list[str]
    h1_hist: np.ndarray | None = None  # character counts per part: an upper bound for the LCS
    h2_hist: np.ndarray | None = None

    @classmethod
    def build(cls, hashes: list[str]) -> "HashTable":
        parsed = [parse(h) for h in hashes]
        h1, h1_len = _encode([p.h1 for p in parsed])
        h2, h2_len = _encode([p.h2 for p in parsed])
        return cls(list(hashes), np.array([p.block_size for p in parsed], dtype=np.int64), h1, h1_len, h2, h2_len,
                   [f"{p.block_size}:{p.h1}:{p.h2}" for p in parsed], _histograms(h1, h1_len), _histograms(h2, h2_len))

    def __len__(self) -> int:
        return len(self.hashes)


def score_against(query: str, table: HashTable, rows: np.ndarray | None = None,
                  common_h1: np.ndarray | None = None, common_h2: np.ndarray | None = None) -> np.ndarray:
    """``ssdeep.compare(query, table.hashes[r])`` for every r in ``rows`` (default: all).

    ``common_h1``/``common_h2`` (booleans per row), when the caller knows them from an index,
    say whether the query's h1 / h2 part shares a 7-gram with the row's part at the same block
    size; otherwise they are computed here."""
    q = parse(query)
    rows = np.arange(len(table)) if rows is None else np.asarray(rows, dtype=np.int64)
    bs = table.block_sizes[rows]
    same = bs == q.block_size
    larger = bs == 2 * q.block_size  # row's h1 is at the query's 2×block size
    smaller = 2 * bs == q.block_size  # row's h2 is at the query's block size
    # texts compared with the query's h1 (at block size q.bs) and with its h2 (at 2·q.bs)
    with_h1 = np.where(same[:, None], table.h1[rows], table.h2[rows])
    with_h1_len = np.where(same, table.h1_len[rows], np.where(smaller, table.h2_len[rows], 0))
    with_h2 = np.where(same[:, None], table.h2[rows], table.h1[rows])
    with_h2_len = np.where(same, table.h2_len[rows], np.where(larger, table.h1_len[rows], 0))
    if common_h1 is None:
        common_h1 = _share_gram(q.h1, with_h1, with_h1_len)
    if common_h2 is None:
        common_h2 = _share_gram(q.h2, with_h2, with_h2_len)
    first = _part_scores(q.h1, with_h1, with_h1_len, q.block_size, (same | smaller) & common_h1)
    second = _part_scores(q.h2, with_h2, with_h2_len, 2 * q.block_size, (same | larger) & common_h2)
    scores = np.maximum(first, second)
    (q1, q1_len), (q2, q2_len) = _encode([q.h1]), _encode([q.h2])
    identical = (same & (table.h1_len[rows] == q1_len[0]) & (table.h2_len[rows] == q2_len[0])
                 & (table.h1[rows] == q1[0]).all(axis=1) & (table.h2[rows] == q2[0]).all(axis=1))
    scores[identical] = 100
    return scores


def _grams(part: str) -> np.ndarray:
    """The 7-grams of a (normalised) part as 42-bit integers."""
    if len(part) < ROLLING_WINDOW:
        return np.zeros(0, dtype=np.int64)
    codes = _CHAR_CODE[np.frombuffer(part.encode("ascii"), dtype=np.uint8)].astype(np.int64)
    grams = np.zeros(len(codes) - ROLLING_WINDOW + 1, dtype=np.int64)
    for offset in range(ROLLING_WINDOW):
        grams = (grams << 6) | codes[offset: offset + len(grams)]
    return grams


def _share_gram(pattern: str, texts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    wanted = set(_grams(pattern).tolist())
    out = np.zeros(len(texts), dtype=bool)
    if not wanted:
        return out
    for row in np.flatnonzero(lengths >= ROLLING_WINDOW):
        part = "".join(B64[c] for c in texts[row, : lengths[row]])
        out[row] = not wanted.isdisjoint(_grams(part).tolist())
    return out


def _block_code(block_size: int) -> int:
    """Block sizes are 3·2^k; k (< 2^20) goes into the key's high bits."""
    k = max(int(block_size // MIN_BLOCKSIZE).bit_length() - 1, 0)
    if MIN_BLOCKSIZE << k != block_size:
        raise ValueError(f"not an ssdeep block size: {block_size}")
    return k


def _key(block_size: int, grams: np.ndarray) -> np.ndarray:
    return (np.int64(_block_code(block_size)) << np.int64(GRAM_BITS)) | grams


class FuzzyIndex:
    """Unique stored hashes posted under (block size, 7-gram) keys, in sorted numpy arrays."""

    def __init__(self, hashes: list[str]):
        self.table = HashTable.build(hashes)
        self.exact: dict[str, list[int]] = {}
        for row, normalised in enumerate(self.table.normalised):
            self.exact.setdefault(normalised, []).append(row)
        keys, rows = [], []
        t = self.table
        codes = np.array([_block_code(int(b)) for b in np.unique(t.block_sizes)], dtype=np.int64)
        block_code = dict(zip(np.unique(t.block_sizes).tolist(), codes.tolist()))
        k1 = np.array([block_code[int(b)] for b in t.block_sizes], dtype=np.int64)
        for part, lengths, offset in ((t.h1, t.h1_len, 0), (t.h2, t.h2_len, 1)):  # h2 lives at 2× block size
            grams = np.zeros((len(t), SPAMSUM_LENGTH - ROLLING_WINDOW + 1), dtype=np.int64)
            for k in range(ROLLING_WINDOW):  # all 7-grams of all hashes at once
                grams = (grams << 6) | part[:, k: k + grams.shape[1]].astype(np.int64)
            valid = np.arange(grams.shape[1])[None, :] <= (lengths[:, None] - ROLLING_WINDOW)
            row_ids = np.broadcast_to(np.arange(len(t), dtype=np.int32)[:, None], grams.shape)
            keys.append(((k1 + offset)[:, None] << np.int64(GRAM_BITS) | grams)[valid])
            rows.append(row_ids[valid])
        log.info("indexed %d hashes", len(t))
        keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
        order = np.argsort(keys, kind="stable")
        self.keys, self.rows = keys[order], rows[order]
        self.last_scored = 0  # candidates the last best() scored exactly (the rest were pruned)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def nbytes(self) -> int:
        t = self.table
        return int(self.keys.nbytes + self.rows.nbytes + t.h1.nbytes + t.h2.nbytes + t.h1_len.nbytes
                   + t.h2_len.nbytes + t.block_sizes.nbytes)

    def _query(self, query: str) -> "_Query":
        q = parse(query)
        spans = []
        for block_size, part in ((q.block_size, q.h1), (2 * q.block_size, q.h2)):
            keys = _key(block_size, np.unique(_grams(part)))
            spans += [np.searchsorted(self.keys, keys, side="left"), np.searchsorted(self.keys, keys, side="right")]
        identical = np.array(self.exact.get(f"{q.block_size}:{q.h1}:{q.h2}", []), dtype=np.int64)
        rows, flags = kernels.collect(self.rows, *spans, identical, len(self.table))
        return _Query(q, rows, flags)

    def candidates(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows that can score > 0 with ``query`` (first-seen order) and their
        :mod:`~transforms.fingerprint.fuzzy_kernels` flags (which parts share a gram, identical)."""
        found = self._query(query)
        return found.rows, found.flags

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of every stored hash with a non-zero score."""
        found, t = self._query(query), self.table
        scores = kernels.exact_scores(found.rows, found.flags, found.parsed.block_size, *found.pattern_args(),
                                      t.block_sizes, t.h1, t.h1_len, t.h2, t.h2_len)
        keep = scores > 0
        return found.rows[keep], scores[keep]

    def upper_bounds(self, query: str, rows: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """Scores no row can exceed: the LCS is at most the overlap of the character counts."""
        return self._bounds(_Query(parse(query), rows, flags))

    def _bounds(self, found: "_Query") -> np.ndarray:
        t, (q1_len, q1_hist), (q2_len, q2_hist) = self.table, found.histogram(0), found.histogram(1)
        return kernels.bounds(found.rows, found.flags, found.parsed.block_size, q1_len, q1_hist, q2_len, q2_hist,
                              t.block_sizes, t.h1_len, t.h2_len, t.h1_hist, t.h2_hist)

    def best(self, query: str) -> tuple[int, list[int]]:
        """Highest score and all rows that reach it (ties in row order); (0, []) if none.

        Candidates are scored exactly in decreasing order of their upper bound, stopping once no
        remaining bound can reach the best score found (ties are still collected)."""
        found, t = self._query(query), self.table
        if not len(found.rows):
            return 0, []
        top, winners, self.last_scored = kernels.best(
            found.rows, found.flags, self._bounds(found), found.parsed.block_size, *found.pattern_args(),
            t.block_sizes, t.h1, t.h1_len, t.h2, t.h2_len)
        return int(top), winners.tolist()


@dataclass
class _Query:
    parsed: ParsedHash
    rows: np.ndarray
    flags: np.ndarray

    def pattern_args(self) -> tuple:
        """(bit masks, length) of h1 then h2, as the bit-parallel LCS wants them."""
        out = []
        for part in (self.parsed.h1, self.parsed.h2):
            masks = np.zeros(64, dtype=np.uint64)
            for position, char in enumerate(part[:SPAMSUM_LENGTH]):
                masks[B64.index(char)] |= np.uint64(1) << np.uint64(position)
            out += [masks, min(len(part), SPAMSUM_LENGTH)]
        return tuple(out)

    def histogram(self, which: int) -> tuple[int, np.ndarray]:
        codes, lengths = _encode([(self.parsed.h1, self.parsed.h2)[which]])
        return int(lengths[0]), _histograms(codes, lengths)[0].astype(np.int64)
