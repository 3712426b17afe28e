"""Compiled (numba) inner loops of the 7-gram index: candidate collection, exact ssdeep scores
and best-match search with upper-bound pruning, one query against a million stored hashes.

The numpy versions in :mod:`transforms.fingerprint.fuzzy` are the reference (tests compare the
two and both with libfuzzy); these exist because at a million stored hashes the per-query numpy
temporaries, not the arithmetic, dominate. Flags per candidate row: bit 1 — the query's h1 shares
a 7-gram with the row's part at the same block size, bit 2 — the same for h2, bit 4 — the
normalised hashes are identical (score 100 whatever the parts' lengths).
"""
from __future__ import annotations

import numpy as np
from numba import njit

H1_COMMON, H2_COMMON, IDENTICAL = 1, 2, 4
_ONE = np.uint64(1)
_M1, _M2, _M4 = np.uint64(0x5555555555555555), np.uint64(0x3333333333333333), np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True)
def _popcount(x):
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return np.int64((x * _H01) >> np.uint64(56))


@njit(cache=True)
def _lcs(masks, m, text, length):
    """LCS of the pattern behind ``masks`` (length m ≤ 64) and ``text[:length]``, bit-parallel."""
    v = _ALL
    for k in range(length):
        match = masks[text[k]]
        u = v & match
        v = (v + u) | (v & ~match)
    window = _ALL if m >= 64 else (_ONE << np.uint64(m)) - _ONE
    return _popcount(~v & window)


@njit(cache=True)
def _score_from_lcs(m, length, lcs, block_size):
    """libfuzzy's score_strings from the LCS (insert/delete 1, replace 2: distance m + n - 2·LCS)."""
    score = ((m + length - 2 * lcs) * 64) // (m + length)
    score = (100 * score) // 64
    score = 0 if score >= 100 else 100 - score
    if block_size < 45:  # (99 + ROLLING_WINDOW) // ROLLING_WINDOW * MIN_BLOCKSIZE
        score = min(score, block_size // 3 * min(m, length))
    return score


@njit(cache=True)
def _mark(posted_rows, lo, hi, bit, marks, out, count):
    for g in range(len(lo)):
        for p in range(lo[g], hi[g]):
            row = posted_rows[p]
            if marks[row] == 0:
                out[count] = row
                count += 1
            marks[row] |= bit
    return count


@njit(cache=True)
def collect(posted_rows, lo1, hi1, lo2, hi2, identical_rows, n_stored):
    """Candidate rows (in first-seen order) and their flags from the query's posting spans."""
    marks = np.zeros(n_stored, dtype=np.uint8)
    out = np.empty(n_stored, dtype=np.int64)
    count = _mark(posted_rows, lo1, hi1, np.uint8(H1_COMMON), marks, out, 0)
    count = _mark(posted_rows, lo2, hi2, np.uint8(H2_COMMON), marks, out, count)
    for row in identical_rows:
        if marks[row] == 0:
            out[count] = row
            count += 1
        marks[row] |= np.uint8(IDENTICAL)
    rows = out[:count].copy()
    flags = np.empty(count, dtype=np.uint8)
    for i in range(count):
        flags[i] = marks[rows[i]]
    return rows, flags


@njit(cache=True)
def _parts(row, q_bs, block_sizes, flags_i):
    """For one row: which row part (1/2, 0 = none) meets the query's h1 and which meets its h2."""
    bs = block_sizes[row]
    with_h1 = 0
    with_h2 = 0
    if flags_i & H1_COMMON:
        with_h1 = 1 if bs == q_bs else 2  # else the row's h2 is at the query's block size
    if flags_i & H2_COMMON:
        with_h2 = 2 if bs == q_bs else 1  # else the row's h1 is at twice the query's block size
    return with_h1, with_h2


@njit(cache=True)
def _exact(row, flag, q_bs, masks1, m1, masks2, m2, block_sizes, h1, h1_len, h2, h2_len):
    if flag & IDENTICAL:
        return 100
    with_h1, with_h2 = _parts(row, q_bs, block_sizes, flag)
    best = 0
    if with_h1:
        text, n = (h1[row], h1_len[row]) if with_h1 == 1 else (h2[row], h2_len[row])
        best = _score_from_lcs(m1, n, _lcs(masks1, m1, text, n), q_bs)
    if with_h2:
        text, n = (h1[row], h1_len[row]) if with_h2 == 1 else (h2[row], h2_len[row])
        best = max(best, _score_from_lcs(m2, n, _lcs(masks2, m2, text, n), 2 * q_bs))
    return best


@njit(cache=True)
def exact_scores(rows, flags, q_bs, masks1, m1, masks2, m2, block_sizes, h1, h1_len, h2, h2_len):
    scores = np.empty(len(rows), dtype=np.int64)
    for i in range(len(rows)):
        scores[i] = _exact(rows[i], flags[i], q_bs, masks1, m1, masks2, m2, block_sizes, h1, h1_len, h2, h2_len)
    return scores


@njit(cache=True)
def _overlap(hist_row, q_hist):
    total = 0
    for c in range(64):
        total += min(hist_row[c], q_hist[c])
    return total


@njit(cache=True)
def _bound(row, flag, q_bs, m1, q1_hist, m2, q2_hist, block_sizes, h1_len, h2_len, h1_hist, h2_hist):
    """A score the row cannot exceed: the LCS is at most the overlap of the character counts."""
    if flag & IDENTICAL:
        return 100
    with_h1, with_h2 = _parts(row, q_bs, block_sizes, flag)
    bound = 0
    if with_h1:
        hist, n = (h1_hist[row], h1_len[row]) if with_h1 == 1 else (h2_hist[row], h2_len[row])
        bound = _score_from_lcs(m1, n, min(_overlap(hist, q1_hist), m1, n), q_bs)
    if with_h2:
        hist, n = (h1_hist[row], h1_len[row]) if with_h2 == 1 else (h2_hist[row], h2_len[row])
        bound = max(bound, _score_from_lcs(m2, n, min(_overlap(hist, q2_hist), m2, n), 2 * q_bs))
    return bound


@njit(cache=True)
def bounds(rows, flags, q_bs, m1, q1_hist, m2, q2_hist, block_sizes, h1_len, h2_len, h1_hist, h2_hist):
    out = np.empty(len(rows), dtype=np.int64)
    for i in range(len(rows)):
        out[i] = _bound(rows[i], flags[i], q_bs, m1, q1_hist, m2, q2_hist, block_sizes, h1_len, h2_len,
                        h1_hist, h2_hist)
    return out


@njit(cache=True)
def best(rows, flags, row_bounds, q_bs, masks1, m1, masks2, m2, block_sizes, h1, h1_len, h2, h2_len):
    """(top score, rows reaching it, rows scored exactly): candidates are scored in decreasing
    order of their bound, stopping when no remaining bound reaches the best score found."""
    n = len(rows)
    per_bound = np.zeros(102, dtype=np.int64)
    for i in range(n):
        per_bound[row_bounds[i] + 1] += 1
    starts = np.cumsum(per_bound)  # counting sort by bound: bucket b is order[starts[b]:starts[b+1]]
    fill = starts[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[fill[row_bounds[i]]] = i
        fill[row_bounds[i]] += 1
    top, count, scored = 0, 0, 0
    winners = np.empty(n, dtype=np.int64)
    for b in range(100, 0, -1):
        if b < top:
            break
        for k in range(starts[b], starts[b + 1]):
            i = order[k]
            score = _exact(rows[i], flags[i], q_bs, masks1, m1, masks2, m2, block_sizes, h1, h1_len, h2, h2_len)
            scored += 1
            if score > top:
                top, count = score, 0
            if score == top and score > 0:
                winners[count] = rows[i]
                count += 1
    return top, np.sort(winners[:count]), scored
