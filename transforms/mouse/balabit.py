"""Loader for the Balabit Mouse Dynamics Challenge layout.

``training_files/userN/session_<id>`` and ``test_files/userN/session_<id>``: CSV with header
``record timestamp,client timestamp,button,state,x,y``. States Move/Drag/Pressed/Released; scrolls
are button ``Scroll`` with state ``Up``/``Down``. ``public_labels.csv`` (``filename,is_illegal``)
labels some test sessions: 1 means another user produced the session claimed by folder ``userN``.
"""
from __future__ import annotations

import csv
import logging
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine
from transforms.mouse.events import to_frame, validate_session

log = logging.getLogger(__name__)
HEADER = ["record timestamp", "client timestamp", "button", "state", "x", "y"]
STATES = {"Move": "move", "Drag": "drag", "Pressed": "press", "Released": "release"}
BUTTON_NAMES = {"NoButton": "none", "Left": "left", "Right": "right", "Middle": "middle", "Scroll": "scroll"}


def _event(button: str, state: str) -> str | None:
    if button == "Scroll":
        return {"Up": "scroll_up", "Down": "scroll_down"}.get(state)
    return STATES.get(state)


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def read_labels(root: Path) -> dict[str, int]:
    path = root / "public_labels.csv"
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        return {Path(r["filename"]).name: int(r["is_illegal"]) for r in csv.DictReader(handle)}


def read_tasks(root: Path) -> dict[str, str]:
    """Optional trackscope extension: ``session_tasks.csv`` (``filename,task``) names the task
    (e.g. star / browse) of sessions; sessions not listed get task ``balabit``."""
    path = root / "session_tasks.csv"
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        return {Path(r["filename"]).name: r["task"] for r in csv.DictReader(handle)}


def read_session(path: Path, user: str, is_illegal: int, quarantine: Quarantine, task: str = "balabit") -> list[dict]:
    session_id = path.name.removeprefix("session_")
    source = str(path)
    rows = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        if header != HEADER:
            quarantine.add({"header": header}, f"not a Balabit session file (header {header})", source)
            return []
        for line_no, fields in enumerate(reader, start=2):
            if len(fields) != len(HEADER):
                quarantine.add(",".join(fields), f"line {line_no}: {len(fields)} fields, expected 6", source)
                continue
            _, client_t, button, state, x, y = (f.strip() for f in fields)
            rows.append({
                "source": "balabit", "user_id": f"balabit:{user}", "session_id": f"balabit:{session_id}",
                "task": task, "is_illegal": is_illegal, "t": _number(client_t),
                "event": _event(button, state), "raw_state": f"{button}/{state}",
                "button": BUTTON_NAMES.get(button, button), "x": _number(x), "y": _number(y), "scroll_y": None,
                "line": line_no,
            })
    return validate_session(rows, quarantine, source)


def load(root: Path, quarantine: Quarantine) -> pd.DataFrame:
    """Every session under ``root`` (training sessions unlabelled: is_illegal -1). Test sessions
    without a public label are skipped (their owner is unknown) and counted in the log."""
    root = Path(root)
    labels, tasks = read_labels(root), read_tasks(root)
    rows: list[dict] = []
    sessions = unlabelled = 0
    for part in ("training_files", "test_files"):
        for user_dir in sorted(p for p in (root / part).glob("user*") if p.is_dir()):
            for path in sorted(user_dir.glob("session_*")):
                if part == "test_files" and path.name not in labels:
                    unlabelled += 1
                    continue
                label = labels.get(path.name, -1) if part == "test_files" else -1
                rows.extend(read_session(path, user_dir.name, label, quarantine, tasks.get(path.name, "balabit")))
                sessions += 1
    log.info("balabit %s: %d sessions, %d events, %d unlabelled test sessions skipped, %d rows quarantined",
             root, sessions, len(rows), unlabelled, len(quarantine))
    return to_frame(rows)
