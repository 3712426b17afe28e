"""Raw interaction events → the validated ``mouse_events`` table; bad rows go to quarantine.

Both inputs (Balabit CSV sessions and the recorder's JSON batches) are first turned into rows of
the common shape, then :func:`validate_session` keeps a session's good rows in order and
quarantines the rest with a reason: unknown state/type, NaN or out-of-range coordinates, time
going backwards.
"""
from __future__ import annotations

import math

import pandas as pd

from transforms.common.quarantine import Quarantine
from transforms.mouse.schemas import BUTTONS, EVENT_TYPES, EVENTS, MAX_COORDINATE


def _bad_number(value) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def validate_session(rows: list[dict], quarantine: Quarantine, source: str) -> list[dict]:
    """The session's good rows (seq renumbered); every other row quarantined with a reason."""
    kept: list[dict] = []
    last_t = -math.inf
    for row in rows:
        if row.get("event") not in EVENT_TYPES:
            quarantine.add(row, f"unknown event/state {row.get('raw_state', row.get('event'))!r}", source)
            continue
        if row.get("button") not in BUTTONS:
            quarantine.add(row, f"unknown button {row.get('button')!r}", source)
            continue
        if _bad_number(row.get("t")):
            quarantine.add(row, "timestamp missing or not a number", source)
            continue
        if _bad_number(row.get("x")) or _bad_number(row.get("y")):
            quarantine.add(row, "coordinate missing or NaN", source)
            continue
        if not (0 <= float(row["x"]) <= MAX_COORDINATE and 0 <= float(row["y"]) <= MAX_COORDINATE):
            quarantine.add(row, "coordinate out of range", source)
            continue
        if float(row["t"]) < last_t:
            quarantine.add(row, "non-monotonic time (earlier than the previous event)", source)
            continue
        last_t = float(row["t"])
        clean = {k: row.get(k) for k in EVENTS.schema.names}
        clean["seq"] = len(kept)
        clean["t"], clean["x"], clean["y"] = float(row["t"]), float(row["x"]), float(row["y"])
        clean["scroll_y"] = None if _bad_number(row.get("scroll_y")) else float(row["scroll_y"])
        kept.append(clean)
    return kept


def to_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=EVENTS.schema.names)
    return frame.astype({"is_illegal": "int8", "seq": "int32"})
