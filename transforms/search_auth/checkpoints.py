"""Great Expectations suites between the search-auth stages."""
from __future__ import annotations

import pandas as pd

from transforms.common.lake import Lake
from transforms.common.validation import run_checkpoint
from transforms.search_auth.schemas import TEMPLATE_STATES


def _expectations():
    """GX's expectation classes, imported on use: importing GX takes seconds, and every DAG task
    imports this module through ``stages`` while only the check tasks need it."""
    import great_expectations as gx

    return gx.expectations


def after_ingest(lake: Lake, ds: str, queries: pd.DataFrame):
    E = _expectations()
    return run_checkpoint(lake, "sa_after_ingest", ds, queries[["user_id", "query", "hour"]], [
        E.ExpectColumnValuesToNotBeNull(column="user_id"),
        E.ExpectColumnValueLengthsToBeBetween(column="query", min_value=1),
        E.ExpectColumnValuesToBeBetween(column="hour", min_value=0, max_value=23),
    ])


def after_features(lake: Lake, ds: str, features: pd.DataFrame):
    """SQR in [0,1], hour vector sums equal the count, one row per user-day, a document only
    for days with queries (every row has >= 1 query and a non-empty hour vector)."""
    E = _expectations()
    frame = features[["user_id", "search_count", "sqr", "hour_sum"]].assign(
        hour_vector_sum=features["hour_vector"].map(sum),  # the vector itself, not only its stored sum
        hour_bins=features["hour_vector"].map(len), document_without_queries=(
            features["document"].map(len) > 0) & (features["search_count"] == 0))
    return run_checkpoint(lake, "sa_after_features", ds, frame, [
        E.ExpectColumnValuesToBeUnique(column="user_id"),
        E.ExpectColumnValuesToBeBetween(column="sqr", min_value=0, max_value=1),
        E.ExpectColumnPairValuesToBeEqual(column_A="hour_vector_sum", column_B="search_count"),
        E.ExpectColumnPairValuesToBeEqual(column_A="hour_sum", column_B="search_count"),
        E.ExpectColumnValuesToBeBetween(column="search_count", min_value=1),
        E.ExpectColumnValuesToBeInSet(column="hour_bins", value_set=[24]),
        E.ExpectColumnValuesToBeInSet(column="document_without_queries", value_set=[False]),
    ])


def after_templates(lake: Lake, ds: str, templates: pd.DataFrame, window_days: int):
    """One row per user; a template whose windows are incomplete must say so in its state."""
    E = _expectations()
    complete = (templates["time_days_present"] == 4) & (templates["query_days_present"] == 10)
    frame = templates[["user_id", "state", "active_days"]].assign(
        complete_or_flagged=complete | (templates["state"] != "ok"))
    return run_checkpoint(lake, "sa_after_templates", ds, frame, [
        E.ExpectColumnValuesToBeUnique(column="user_id"),
        E.ExpectColumnValuesToBeInSet(column="state", value_set=TEMPLATE_STATES),
        E.ExpectColumnValuesToBeBetween(column="active_days", min_value=0, max_value=window_days),
        E.ExpectColumnValuesToBeInSet(column="complete_or_flagged", value_set=[True]),
    ])
