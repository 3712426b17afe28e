"""Days as "YYYY-MM-DD" strings (the partition values of every daily dataset) and the windows
that end at a run's day: one implementation for every pipeline."""
from __future__ import annotations

from datetime import date, timedelta


def shift(ds: str, days: int) -> str:
    return (date.fromisoformat(ds) + timedelta(days=days)).isoformat()


def day_range(first: str, last: str) -> list[str]:
    """Every day from ``first`` to ``last``, both included."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def span(first: str, count: int) -> list[str]:
    """The ``count`` days starting at ``first`` (included)."""
    return day_range(first, shift(first, count - 1)) if count > 0 else []


def window(end: str, count: int) -> list[str]:
    """The ``count`` days ending at ``end`` (included), oldest first."""
    return day_range(shift(end, -(count - 1)), end) if count > 0 else []


def windows(end: str, sizes: dict[str, int]) -> dict[str, list[str]]:
    """Consecutive, disjoint windows, in the order given, the last ending at ``end``:
    ``windows(ds, {"fit": 30, "calibration": 7, "test": 7})`` → fit < calibration < test."""
    out, last = {}, end
    for name, size in reversed(list(sizes.items())):
        out[name] = window(last, size)
        last = shift(last, -size)
    return {name: out[name] for name in sizes}
