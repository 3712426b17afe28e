"""The recorder's side in Python: where its batches live in the lake, and batches → events.

The collector stores each accepted batch as one JSON file under
``raw/mouse/recorder/ds=<UTC day received>/``; the daily DAG turns a day's batches into
``mouse_events`` rows. A session's batches are ordered by (page load, batch number); events
keep their in-batch order, so a clock jump shows up as non-monotonic time and is quarantined.
"""
from __future__ import annotations

import json
import logging
from importlib import resources

import pandas as pd

from transforms.common.lake import Lake
from transforms.common.quarantine import Quarantine
from transforms.mouse.events import to_frame, validate_session

log = logging.getLogger(__name__)
RAW_DIR = "raw/mouse/recorder"


def recorder_js() -> str:
    return resources.files("transforms.mouse").joinpath("static/recorder.js").read_text()


def batch_dir(ds: str) -> str:
    return f"{RAW_DIR}/ds={ds}"


def read_batches(lake: Lake, ds: str, quarantine: Quarantine) -> list[dict]:
    batches = []
    for name in lake.list_files(batch_dir(ds), ".json"):
        path = f"{batch_dir(ds)}/{name}"
        try:
            batches.append(json.loads(lake.read_bytes(path)))
        except ValueError as error:
            quarantine.add(lake.read_bytes(path)[:2000].decode(errors="replace"), f"batch not JSON: {error}", path)
    return batches


def batches_to_events(batches: list[dict], quarantine: Quarantine) -> pd.DataFrame:
    sessions: dict[str, list[dict]] = {}
    for batch in sorted(batches, key=lambda b: (str(b.get("session")), b.get("received_at", 0), b.get("batch", 0))):
        session = f"recorder:{batch.get('session')}"
        user = f"recorder:{batch.get('user') or 'anonymous'}"
        for event in batch.get("events") or []:
            if not isinstance(event, dict):
                quarantine.add(str(event), "event is not an object", session)
                continue
            sessions.setdefault(session, []).append({
                "source": "recorder", "user_id": user, "session_id": session, "task": str(batch.get("task") or ""),
                "is_illegal": -1, "t": event.get("t"), "event": event.get("type"), "button": event.get("button"),
                "x": event.get("x"), "y": event.get("y"), "scroll_y": event.get("sy"),
            })
    rows = [row for session, events in sessions.items() for row in validate_session(events, quarantine, session)]
    log.info("recorder: %d batches, %d sessions, %d events kept", len(batches), len(sessions), len(rows))
    return to_frame(rows)
