"""Great Expectations checkpoints of the mouse pipeline (a failure stops the DAG run)."""
from __future__ import annotations

import great_expectations as gx
import pandas as pd

from transforms.common.lake import Lake
from transforms.common.validation import run_checkpoint
from transforms.mouse.events import MAX_COORDINATE
from transforms.mouse.schemas import EVENT_TYPES, BUTTONS

E = gx.expectations


def events(lake: Lake, ds: str, frame: pd.DataFrame) -> None:
    run_checkpoint(lake, "mouse_events", ds, frame, [
        E.ExpectColumnValuesToNotBeNull(column="session_id"),
        E.ExpectColumnValuesToNotBeNull(column="user_id"),
        E.ExpectColumnValuesToBeInSet(column="event", value_set=list(EVENT_TYPES)),
        E.ExpectColumnValuesToBeInSet(column="button", value_set=list(BUTTONS)),
        E.ExpectColumnValuesToBeBetween(column="x", min_value=0, max_value=MAX_COORDINATE),
        E.ExpectColumnValuesToBeBetween(column="y", min_value=0, max_value=MAX_COORDINATE),
        E.ExpectColumnValuesToNotBeNull(column="t"),
        E.ExpectCompoundColumnsToBeUnique(column_list=["session_id", "seq"]),
    ])


def features(lake: Lake, ds: str, sessions: pd.DataFrame, actions: pd.DataFrame) -> None:
    run_checkpoint(lake, "mouse_session_features", ds, sessions, [
        E.ExpectColumnValuesToBeUnique(column="session_id"),
        E.ExpectColumnValuesToBeBetween(column="duration_s", min_value=0),
        E.ExpectColumnValuesToBeBetween(column="n_samples", min_value=1),
    ])
    run_checkpoint(lake, "mouse_actions", ds, actions, [
        E.ExpectColumnValuesToBeInSet(column="action_type", value_set=["move", "point_click", "drag"]),
        E.ExpectColumnValuesToBeBetween(column="straightness", min_value=0, max_value=1.000001),
        E.ExpectColumnValuesToBeBetween(column="duration_s", min_value=0),
        E.ExpectColumnValuesToNotBeNull(column="v_mean"),
        E.ExpectColumnValuesToNotBeNull(column="curvature_std"),
        E.ExpectCompoundColumnsToBeUnique(column_list=["session_id", "action_index"]),
    ])


def training_window(lake: Lake, ds: str, train: pd.DataFrame, test: pd.DataFrame) -> None:
    """Both periods have data, and no session appears in both (sessions are never split)."""
    both = pd.concat([train, test], ignore_index=True)[["session_id", "user_id", "period"]]
    run_checkpoint(lake, "mouse_training_window", ds, both, [
        E.ExpectColumnValuesToBeUnique(column="session_id"),
        E.ExpectColumnDistinctValuesToEqualSet(column="period", value_set=["train", "test"]),
        E.ExpectColumnUniqueValueCountToBeBetween(column="user_id", min_value=2),
    ])
