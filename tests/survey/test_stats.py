"""Report statistics against published worked examples."""
import math

import pandas as pd
import pytest

from transforms.survey.stats import difference, mcnemar_exact, wilson


def test_wilson_matches_newcombe_1998_table_i():
    # Newcombe (1998) "Two-sided confidence intervals for the single proportion", Table I
    for (k, n), (low, high) in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                                (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}.items():
        got = wilson(k, n)
        assert got == pytest.approx((low, high), abs=6e-4), (k, n)
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_difference_matches_newcombe_1998_method_10():
    # Newcombe (1998) "Interval estimation for the difference between independent proportions",
    # Table II example (a): 56/70 vs 48/80 -> 0.2000, 95 % CI 0.0524 to 0.3339 (method 10)
    d = difference(56, 70, 48, 80)
    assert d["diff"] == pytest.approx(0.2)
    assert (d["diff_low"], d["diff_high"]) == pytest.approx((0.0524, 0.3339), abs=6e-4)
    assert 0 < d["p_value"] < 0.02
    same = difference(10, 100, 10, 100)
    assert same["diff"] == 0 and same["p_value"] == pytest.approx(1.0)


def test_the_papers_jp_vs_other_gap_is_significant():
    # SPEC S1.1: 943 / 11,523 .jp vs 3,575 / 17,582 others
    d = difference(943, 11523, 3575, 17582)
    assert d["diff_high"] < 0 and d["p_value"] < 1e-100
    assert round(100 * d["diff"], 1) == -12.1


def test_mcnemar_exact():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == pytest.approx(1.0)
    assert mcnemar_exact(10, 0) == pytest.approx(2 * 0.5 ** 10)
