"""Statistics of the survey report: adoption proportions with 95 % Wilson score intervals, the
.jp vs other difference (Newcombe's hybrid score interval and Fisher's exact test), and the
change since the previous crawl per service (McNemar's exact test on the sites visited
successfully in both crawls).
"""
from __future__ import annotations

import math

from scipy import stats as sps

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval of k successes out of n (as proportions; (nan, nan) for n=0)."""
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def difference(k1: int, n1: int, k2: int, n2: int) -> dict:
    """p1 - p2 with Newcombe's hybrid score 95 % interval (method 10) and Fisher's exact
    two-sided p-value of the 2x2 table."""
    if n1 <= 0 or n2 <= 0:
        return {"diff": float("nan"), "diff_low": float("nan"), "diff_high": float("nan"), "p_value": float("nan")}
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    p_value = float(sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="two-sided")[1])
    return {"diff": d, "diff_low": low, "diff_high": high, "p_value": p_value}


def mcnemar_exact(started: int, stopped: int) -> float:
    """Two-sided exact McNemar p-value for sites that started vs stopped using a service."""
    n = started + stopped
    if n == 0:
        return 1.0
    return float(min(1.0, sps.binomtest(started, n, 0.5).pvalue))
