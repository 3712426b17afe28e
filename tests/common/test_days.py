"""The one implementation of day windows every pipeline uses (transforms/common/days.py)."""
from transforms.common import days


def test_window_ends_at_the_day_and_span_starts_at_it():
    assert days.window("2016-03-01", 3) == ["2016-02-28", "2016-02-29", "2016-03-01"]  # leap day included
    assert days.span("2016-02-28", 3) == ["2016-02-28", "2016-02-29", "2016-03-01"]
    assert days.window("2016-03-01", 0) == [] and days.span("2016-03-01", 0) == []


def test_windows_are_consecutive_and_disjoint():
    spans = days.windows("2026-01-10", {"fit": 3, "calibration": 2, "test": 1})
    assert spans == {"fit": ["2026-01-05", "2026-01-06", "2026-01-07"], "calibration": ["2026-01-08", "2026-01-09"],
                     "test": ["2026-01-10"]}
