"""The vectorised ssdeep comparison and the 7-gram index against libfuzzy itself."""
import random

import numpy as np
import pytest
import ssdeep

from transforms.fingerprint.attributes import canonical_string
from transforms.fingerprint.fuzzy_kernels import H1_COMMON, H2_COMMON
from transforms.fingerprint.fuzzy import FuzzyIndex, HashTable, eliminate_sequences, score_against
from transforms.fingerprint.methods import prepare_records


def _hashes(history, extra_mutations=True):
    rng = random.Random(3)
    frame = prepare_records(history[:300])
    texts = [canonical_string(r) for r in frame.to_dict("records")]
    if extra_mutations:  # truncations and edits give other block sizes and partial overlaps
        for text in texts[:80]:
            cut = text[: rng.randint(10, len(text))]
            texts.append(cut)
            texts.append(cut.replace("a", "o", rng.randint(1, 30)))
    texts += ["x", "ab" * 5, "a" * 400, "short"]
    return [ssdeep.hash(t) for t in texts]


def test_eliminate_sequences_cuts_runs_to_three():
    assert eliminate_sequences("AAAAAABCCCCD") == "AAABCCCD"
    assert ssdeep.compare("3:AAAAAAB:x", "3:AAAB:x") == 100  # libfuzzy compares the cut strings too


def test_vectorised_scores_equal_libfuzzy(history):
    hashes = _hashes(history)
    table = HashTable.build(hashes)
    for query in hashes[::5]:
        expected = np.array([ssdeep.compare(query, h) for h in hashes])
        assert (score_against(query, table) == expected).all(), query
    assert len({int(h.split(":")[0]) for h in hashes}) >= 3  # several block sizes were exercised


def test_index_equals_brute_force_including_ties(history):
    hashes = _hashes(history)
    stored = hashes + hashes[:50]  # duplicates: every duplicated best match is a tie
    index = FuzzyIndex(stored)
    queries = hashes[::3] + [ssdeep.hash(canonical_string(r) + "\nextra=1") for r in prepare_records(history[300:340]).to_dict("records")]
    ties = 0
    for query in queries:
        brute = np.array([ssdeep.compare(query, h) for h in stored])
        top = int(brute.max())
        expected = (top, sorted(np.flatnonzero(brute == top).tolist())) if top > 0 else (0, [])
        assert index.best(query) == expected, query
        rows, scores = index.scores(query)
        assert sorted(rows.tolist()) == np.flatnonzero(brute > 0).tolist()
        assert (scores == brute[rows]).all()
        ties += len(expected[1]) > 1
    assert ties >= 10


def test_index_looks_at_fewer_hashes_than_brute_force(history):
    hashes = _hashes(history, extra_mutations=False)
    index = FuzzyIndex(hashes)
    looked_at = [len(index.candidates(q)[0]) for q in hashes[:50]]
    assert np.mean(looked_at) < 0.5 * len(hashes)


def test_rejects_non_ssdeep_block_sizes():
    with pytest.raises(ValueError):
        FuzzyIndex(["5:abcdefgh:abcd"])


def test_upper_bounds_never_underestimate(history):
    hashes = _hashes(history)
    index = FuzzyIndex(hashes)
    for query in hashes[::4]:
        rows, flags = index.candidates(query)
        exact = score_against(query, index.table, rows, (flags & H1_COMMON) > 0, (flags & H2_COMMON) > 0)
        bounds = index.upper_bounds(query, rows, flags)
        assert (bounds >= exact).all()
        assert (bounds[exact == 0] < 100).all() or len(rows) == 0
