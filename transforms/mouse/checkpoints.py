"""Great Expectations checkpoints of the mouse pipeline (a failure stops the DAG run): each
dataset's contract (schemas.py) plus the rules across tables."""
from __future__ import annotations

import pandas as pd

from transforms.common.lake import Lake
from transforms.common.validation import run_checkpoint
from transforms.mouse import schemas


def events(lake: Lake, ds: str, frame: pd.DataFrame) -> None:
    run_checkpoint(lake, "mouse_events", ds, frame, spec=schemas.EVENTS)


def features(lake: Lake, ds: str, sessions: pd.DataFrame, actions: pd.DataFrame) -> None:
    run_checkpoint(lake, "mouse_session_features", ds, sessions, spec=schemas.SESSION_FEATURES)
    run_checkpoint(lake, "mouse_actions", ds, actions, spec=schemas.ACTIONS)


def training_window(lake: Lake, ds: str, train: pd.DataFrame, test: pd.DataFrame) -> None:
    """Both periods have data, and no session appears in both (sessions are never split)."""
    import great_expectations as gx

    E = gx.expectations
    both = pd.concat([train, test], ignore_index=True)[["session_id", "user_id", "period"]]
    run_checkpoint(lake, "mouse_training_window", ds, both, [
        E.ExpectColumnValuesToBeUnique(column="session_id"),
        E.ExpectColumnDistinctValuesToEqualSet(column="period", value_set=["train", "test"]),
        E.ExpectColumnUniqueValueCountToBeBetween(column="user_id", min_value=2),
    ])
