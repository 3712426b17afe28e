"""The survey's Great Expectations suites, one per stage boundary."""
from __future__ import annotations

import great_expectations as gx
import pandas as pd

from transforms.common.lake import Lake
from transforms.common.validation import run_checkpoint
from transforms.survey import schemas
from transforms.survey.detect import EVIDENCE_SOURCES

E = gx.expectations
WINDOW_MARGIN_S = 120  # browser clock vs. crawler clock


def after_crawl(lake: Lake, crawl_id: str, sites: pd.DataFrame, visits: pd.DataFrame):
    """Every selected site has exactly one finished raw visit with a known outcome."""
    return run_checkpoint(lake, "survey_after_crawl", crawl_id, visits, [
        E.ExpectTableRowCountToEqual(value=len(sites)),
        E.ExpectColumnValuesToBeUnique(column="domain"),
        E.ExpectColumnValuesToBeInSet(column="domain", value_set=sorted(sites["domain"])),
        E.ExpectColumnValuesToBeInSet(column="outcome", value_set=schemas.OUTCOMES),
    ])


def after_extraction(lake: Lake, crawl_id: str, visits: pd.DataFrame, requests: pd.DataFrame):
    """Every request belongs to a visit, ids are unique, timestamps lie inside the crawl window."""
    started = pd.to_datetime(visits["started_at"], utc=True).min()
    ended = pd.to_datetime(visits["ended_at"], utc=True).max()
    frame = requests[["visit_id", "request_id", "url"]].assign(
        ts_epoch=pd.to_datetime(requests["ts"], utc=True).map(lambda t: t.timestamp() if pd.notna(t) else None))
    window = {}
    if pd.notna(started) and pd.notna(ended):
        window = {"min_value": started.timestamp() - WINDOW_MARGIN_S, "max_value": ended.timestamp() + WINDOW_MARGIN_S}
    expectations = [
        E.ExpectColumnValuesToBeInSet(column="visit_id", value_set=sorted(visits["visit_id"])),
        E.ExpectCompoundColumnsToBeUnique(column_list=["visit_id", "request_id"]),
        E.ExpectColumnValuesToNotBeNull(column="url"),
        E.ExpectColumnValuesToNotBeNull(column="ts_epoch"),
    ]
    if window:
        expectations.append(E.ExpectColumnValuesToBeBetween(column="ts_epoch", **window))
    return run_checkpoint(lake, "survey_after_extraction", crawl_id, frame, expectations)


def after_detection(lake: Lake, crawl_id: str, detections: pd.DataFrame, service_ids: list[str]):
    """Services come from the signature file only; one row per site × service."""
    frame = detections.drop(columns=["evidence_urls"]).assign(
        consistent=detections["detected"] == (detections["evidence_source"] != "none"))
    return run_checkpoint(lake, "survey_after_detection", crawl_id, frame, [
        E.ExpectColumnValuesToBeInSet(column="service_id", value_set=service_ids),
        E.ExpectColumnValuesToBeInSet(column="evidence_source", value_set=EVIDENCE_SOURCES),
        E.ExpectCompoundColumnsToBeUnique(column_list=["domain", "service_id"]),
        E.ExpectColumnValuesToBeInSet(column="consistent", value_set=[True]),
    ])
