"""Great Expectations checkpoints between the search-auth stages: each dataset's contract
(schemas.py) plus the rules across columns and those that depend on a setting."""
from __future__ import annotations

import pandas as pd

from transforms.common.lake import Lake
from transforms.common.validation import run_checkpoint
from transforms.search_auth import schemas


def _expectations():
    """GX's expectation classes, imported on use: importing GX takes seconds, and every DAG task
    imports this module through ``stages`` while only the check tasks need it."""
    import great_expectations as gx

    return gx.expectations


def after_ingest(lake: Lake, ds: str, queries: pd.DataFrame):
    return run_checkpoint(lake, "sa_after_ingest", ds, queries, spec=schemas.QUERIES)


def after_features(lake: Lake, ds: str, features: pd.DataFrame):
    """Hour vector sums equal the count, and a document only for days with queries (every row has
    a non-empty 24-hour vector)."""
    E = _expectations()
    frame = features.assign(
        hour_vector_sum=features["hour_vector"].map(sum),  # the vector itself, not only its stored sum
        hour_bins=features["hour_vector"].map(len), document_without_queries=(
            features["document"].map(len) > 0) & (features["search_count"] == 0))
    return run_checkpoint(lake, "sa_after_features", ds, frame, [
        E.ExpectColumnPairValuesToBeEqual(column_A="hour_vector_sum", column_B="search_count"),
        E.ExpectColumnPairValuesToBeEqual(column_A="hour_sum", column_B="search_count"),
        E.ExpectColumnValuesToBeInSet(column="hour_bins", value_set=[24]),
        E.ExpectColumnValuesToBeInSet(column="document_without_queries", value_set=[False]),
    ], spec=schemas.DAILY_FEATURES)


def after_templates(lake: Lake, ds: str, templates: pd.DataFrame, window_days: int):
    """Active days within the window; a template whose windows are incomplete says so in its state."""
    E = _expectations()
    complete = (templates["time_days_present"] == 4) & (templates["query_days_present"] == 10)
    frame = templates.assign(complete_or_flagged=complete | (templates["state"] != "ok"))
    return run_checkpoint(lake, "sa_after_templates", ds, frame, [
        E.ExpectColumnValuesToBeBetween(column="active_days", max_value=window_days),
        E.ExpectColumnValuesToBeInSet(column="complete_or_flagged", value_set=[True]),
    ], spec=schemas.TEMPLATES)
