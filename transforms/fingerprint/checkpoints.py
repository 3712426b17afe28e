"""The fingerprint pipeline's checkpoints, one per stage boundary: each dataset's contract
(schemas.py) plus the rules that need the partition, a setting, another table or the method."""
from __future__ import annotations

import pandas as pd

from transforms.common.lake import Lake
from transforms.common.validation import run_checkpoint
from transforms.fingerprint import schemas
from transforms.fingerprint.attributes import ATTRIBUTES
from transforms.fingerprint.methods import all_methods


def _expectations():
    """GX's expectation classes, imported on use (importing GX takes seconds)."""
    import great_expectations as gx

    return gx.expectations


def after_ingest(lake: Lake, ds: str, visits: pd.DataFrame, min_attributes: int, days: list[str] | None = None,
                 collected: list[str] | None = None):
    """Visits of the day (or of ``days``), each with at least ``min_attributes`` of the collected
    attributes (fewer if fewer are collected). Which attributes are present is data, not a
    requirement: coverage is reported (:func:`ingest.coverage`), never checked here."""
    E, collected = _expectations(), collected or ATTRIBUTES
    frame = visits.assign(day=pd.to_datetime(visits["ts"], utc=True).dt.strftime("%Y-%m-%d"))
    return run_checkpoint(lake, "fingerprint_after_ingest", ds, frame, [
        E.ExpectColumnValuesToBeInSet(column="day", value_set=days or [ds]),
        E.ExpectColumnValuesToBeBetween(column="n_attributes", min_value=min(min_attributes, len(collected)),
                                        max_value=len(collected)),
    ], spec=schemas.VISITS)


def after_linking(lake: Lake, ds: str, visits: pd.DataFrame, links: pd.DataFrame):
    """Every visit of the day linked once, with a score in its method's range (``Method.score_range``)."""
    E = _expectations()
    ranges = {m.name: m.score_range for m in all_methods()}
    known = links["method"].map(ranges)
    low = known.map(lambda r: r[0] if isinstance(r, tuple) else None)
    high = known.map(lambda r: r[1] if isinstance(r, tuple) else None)
    frame = links.assign(score_in_method_range=links["score"].isna() | (
        known.notna() & (links["score"] >= low.astype(float)) & (links["score"] <= high.astype(float))))
    return run_checkpoint(lake, "fingerprint_after_linking", ds, frame, [
        E.ExpectTableRowCountToEqual(value=len(visits)),
        E.ExpectColumnValuesToBeInSet(column="visit_id", value_set=sorted(visits["visit_id"])),
        E.ExpectColumnValuesToBeInSet(column="method", value_set=sorted(ranges)),
        E.ExpectColumnValuesToBeInSet(column="score_in_method_range", value_set=[True]),
    ], spec=schemas.LINKS)


def after_calibration(lake: Lake, ds: str, calibration: pd.DataFrame, evaluation: pd.DataFrame,
                      previous: pd.DataFrame, max_shift: float, ranges: dict[str, tuple[float, float]]):
    """Thresholds inside each method's threshold range (``Method.threshold_range``), stable
    against the previous calibration, and pairs of both classes in the test window."""
    E = _expectations()
    frame = calibration.copy()
    low = frame["method"].map(lambda m: ranges[m][0])
    high = frame["method"].map(lambda m: ranges[m][1])
    frame["in_range"] = (frame["threshold"] >= low) & (frame["threshold"] <= high)
    before = previous.set_index("method")["threshold"] if len(previous) else pd.Series(dtype=float)
    frame["relative_shift"] = [
        abs(t - before[m]) / max(ranges[m][1] - ranges[m][0], 1e-9) if m in before.index else 0.0
        for m, t in zip(frame["method"], frame["threshold"])]
    result = run_checkpoint(lake, "fingerprint_after_calibration", ds, frame, [
        E.ExpectColumnValuesToBeInSet(column="in_range", value_set=[True]),
        E.ExpectColumnValuesToBeBetween(column="relative_shift", min_value=0, max_value=max_shift),
    ], spec=schemas.CALIBRATION)
    both_classes = (evaluation["bucket"] != "all") | ((evaluation["n_same"] >= 1) & (evaluation["n_diff"] >= 1))
    run_checkpoint(lake, "fingerprint_evaluation_sane", ds, evaluation.assign(both_classes=both_classes), [
        E.ExpectColumnValuesToBeInSet(column="both_classes", value_set=[True]),
    ], spec=schemas.EVALUATION)
    return result
