"""The fingerprint pipeline's Great Expectations suites, one per stage boundary."""
from __future__ import annotations

import great_expectations as gx
import pandas as pd

from transforms.common.lake import Lake
from transforms.common.validation import run_checkpoint
from transforms.fingerprint import schemas
from transforms.fingerprint.attributes import ATTRIBUTES

E = gx.expectations
SCORE_RANGES = {"ssdeep": (0, 100), "ssdeep_info": (0, 100), "hybrid": (0, 1), "yiks": (0, 1), "eckersley": (0, 1), "fybrid": (0, 1)}


def after_ingest(lake: Lake, ds: str, visits: pd.DataFrame, min_attributes: int, days: list[str] | None = None,
                 collected: list[str] | None = None):
    """Unique visits of the day (or of ``days``), each with a hash and at least ``min_attributes``
    of the collected attributes (fewer if fewer are collected). Which attributes are present is
    data, not a requirement: coverage is reported (:func:`ingest.coverage`), never checked here."""
    collected = collected or ATTRIBUTES
    frame = visits.assign(day=pd.to_datetime(visits["ts"], utc=True).dt.strftime("%Y-%m-%d"))
    expectations = [
        E.ExpectColumnValuesToBeUnique(column="visit_id"),
        E.ExpectColumnValuesToNotBeNull(column="ts"),
        E.ExpectColumnValuesToBeInSet(column="day", value_set=days or [ds]),
        E.ExpectColumnValuesToBeBetween(column="n_attributes", min_value=min(min_attributes, len(collected)),
                                        max_value=len(collected)),
        E.ExpectColumnValuesToMatchRegex(column="fp_ssdeep", regex=r"^\d+:[0-9A-Za-z+/]*:[0-9A-Za-z+/]*$"),
    ]
    return run_checkpoint(lake, "fingerprint_after_ingest", ds, frame, expectations)


def after_linking(lake: Lake, ds: str, visits: pd.DataFrame, links: pd.DataFrame):
    """Every visit of the day linked once, to a device, with a score in the method's range."""
    method = links["method"].iloc[0] if len(links) else "ssdeep"
    low, high = SCORE_RANGES.get(method, (None, None))
    frame = links.assign(score_or_low=links["score"].fillna(low if low is not None else 0))
    expectations = [
        E.ExpectTableRowCountToEqual(value=len(visits)),
        E.ExpectColumnValuesToBeUnique(column="visit_id"),
        E.ExpectColumnValuesToBeInSet(column="visit_id", value_set=sorted(visits["visit_id"])),
        E.ExpectColumnValuesToNotBeNull(column="device_id"),
        E.ExpectColumnValuesToBeInSet(column="decision", value_set=schemas.DECISIONS),
    ]
    if low is not None:
        expectations.append(E.ExpectColumnValuesToBeBetween(column="score_or_low", min_value=low, max_value=high))
    return run_checkpoint(lake, "fingerprint_after_linking", ds, frame, expectations)


def after_calibration(lake: Lake, ds: str, calibration: pd.DataFrame, evaluation: pd.DataFrame,
                      previous: pd.DataFrame, max_shift: float, ranges: dict[str, tuple[float, float]]):
    """Thresholds inside each method's score range, stable against the previous calibration,
    rates within [0, 1] and pairs of both classes in the test window."""
    frame = calibration[["method", "threshold"]].copy()
    frame["range_low"] = frame["method"].map(lambda m: ranges[m][0])
    frame["range_high"] = frame["method"].map(lambda m: ranges[m][1])
    frame["in_range"] = (frame["threshold"] >= frame["range_low"]) & (frame["threshold"] <= frame["range_high"])
    before = previous.set_index("method")["threshold"] if len(previous) else pd.Series(dtype=float)
    frame["relative_shift"] = [
        abs(t - before[m]) / max(ranges[m][1] - ranges[m][0], 1e-9) if m in before.index else 0.0
        for m, t in zip(frame["method"], frame["threshold"])]
    overall = evaluation[evaluation["bucket"] == "all"]
    result = run_checkpoint(lake, "fingerprint_after_calibration", ds, frame, [
        E.ExpectColumnValuesToBeInSet(column="in_range", value_set=[True]),
        E.ExpectColumnValuesToBeBetween(column="relative_shift", min_value=0, max_value=max_shift),
    ])
    run_checkpoint(lake, "fingerprint_evaluation_sane", ds, overall, [
        E.ExpectColumnValuesToBeBetween(column="tp_rate", min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column="tn_rate", min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column="n_same", min_value=1),
        E.ExpectColumnValuesToBeBetween(column="n_diff", min_value=1),
    ])
    return result
