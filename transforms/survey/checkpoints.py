"""The survey's checkpoints, one per stage boundary: each dataset's contract (schemas.py) plus
the rules across tables."""
from __future__ import annotations

import pandas as pd

from transforms.common.lake import Lake
from transforms.common.validation import run_checkpoint
from transforms.survey import schemas

WINDOW_MARGIN_S = 120  # browser clock vs. crawler clock


def _expectations():
    """GX's expectation classes, imported on use (importing GX takes seconds)."""
    import great_expectations as gx

    return gx.expectations


def after_crawl(lake: Lake, crawl_id: str, sites: pd.DataFrame, visits: pd.DataFrame):
    """Every selected site has exactly one finished raw visit (as many rows as sites, and the
    visited domains are the selected ones); outcomes follow the site visits' contract."""
    E = _expectations()
    return run_checkpoint(lake, "survey_after_crawl", crawl_id, visits, [
        E.ExpectTableRowCountToEqual(value=len(sites)),
        E.ExpectColumnDistinctValuesToEqualSet(column="domain", value_set=sorted(sites["domain"])),
    ], spec=schemas.SITE_VISITS)


def after_extraction(lake: Lake, crawl_id: str, visits: pd.DataFrame, requests: pd.DataFrame):
    """Every request belongs to a visit and lies inside the crawl window."""
    E = _expectations()
    started = pd.to_datetime(visits["started_at"], utc=True).min()
    ended = pd.to_datetime(visits["ended_at"], utc=True).max()
    frame = requests.assign(
        ts_epoch=pd.to_datetime(requests["ts"], utc=True).map(lambda t: t.timestamp() if pd.notna(t) else None))
    expectations = [E.ExpectColumnValuesToBeInSet(column="visit_id", value_set=sorted(visits["visit_id"]))]
    if pd.notna(started) and pd.notna(ended):
        expectations.append(E.ExpectColumnValuesToBeBetween(
            column="ts_epoch", min_value=started.timestamp() - WINDOW_MARGIN_S,
            max_value=ended.timestamp() + WINDOW_MARGIN_S))
    return run_checkpoint(lake, "survey_after_extraction", crawl_id, frame, expectations, spec=schemas.REQUESTS)


def after_detection(lake: Lake, crawl_id: str, detections: pd.DataFrame, service_ids: list[str]):
    """Services come from the signature file only; detected exactly when there is evidence."""
    E = _expectations()
    frame = detections.assign(consistent=detections["detected"] == (detections["evidence_source"] != "none"))
    return run_checkpoint(lake, "survey_after_detection", crawl_id, frame, [
        E.ExpectColumnValuesToBeInSet(column="service_id", value_set=service_ids),
        E.ExpectColumnValuesToBeInSet(column="consistent", value_set=[True]),
    ], spec=schemas.DETECTIONS)
