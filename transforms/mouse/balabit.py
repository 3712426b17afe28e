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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from transforms.common.quarantine import Quarantine
from transforms.mouse.events import MAX_COORDINATE, to_frame, validate_session
from transforms.mouse.schemas import EVENT_TYPES, EVENTS

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


def read_labels(root: Path, quarantine: Quarantine | None = None) -> dict[str, int]:
    """``public_labels.csv`` as {session file name: is_illegal}; a row whose label is not 0/1 or
    whose name is not UTF-8 is quarantined (or logged, without a quarantine), never fatal."""
    path = root / "public_labels.csv"
    if not path.exists():
        return {}
    labels = {}
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as handle:
        for number, row in enumerate(csv.DictReader(handle), 2):
            name, label = (row.get("filename") or "").strip(), (row.get("is_illegal") or "").strip()
            reason = ("filename is not UTF-8" if any("\udc80" <= c <= "\udcff" for c in name)
                      else "label is not 0 or 1" if label not in ("0", "1") or not name else None)
            if reason is None:
                labels[Path(name).name] = int(label)
            elif quarantine is not None:
                quarantine.add(row, reason, f"public_labels.csv:{number}")
            else:
                log.warning("public_labels.csv:%d: %s; row skipped", number, reason)
    return labels


def read_tasks(root: Path) -> dict[str, str]:
    """Optional trackscope extension: ``session_tasks.csv`` (``filename,task``) names the task
    (e.g. star / browse) of sessions; sessions not listed get task ``balabit``."""
    path = root / "session_tasks.csv"
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        return {Path(r["filename"]).name: r["task"] for r in csv.DictReader(handle)}


def read_session_rowwise(path: Path, user: str, is_illegal: int, quarantine: Quarantine, task: str = "balabit") -> list[dict]:
    """The loader before issue 17 (one dict per row): kept as the reference the vectorised loader
    is tested against and benchmarked with (bench/mouse_pipeline.py)."""
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


def load_rowwise(root: Path, quarantine: Quarantine) -> pd.DataFrame:
    """The reference loader (one dict per row; see :func:`read_session_rowwise`)."""
    root = Path(root)
    labels, tasks = read_labels(root, quarantine), read_tasks(root)
    rows: list[dict] = []
    sessions = unlabelled = 0
    for part in ("training_files", "test_files"):
        for user_dir in sorted(p for p in (root / part).glob("user*") if p.is_dir()):
            for path in sorted(user_dir.glob("session_*")):
                if part == "test_files" and path.name not in labels:
                    unlabelled += 1
                    continue
                label = labels.get(path.name, -1) if part == "test_files" else -1
                rows.extend(read_session_rowwise(path, user_dir.name, label, quarantine, tasks.get(path.name, "balabit")))
                sessions += 1
    log.info("balabit %s: %d sessions, %d events, %d unlabelled test sessions skipped, %d rows quarantined",
             root, sessions, len(rows), unlabelled, len(quarantine))
    return to_frame(rows)


# ---------------------------------------------------------------------------------------------
# Vectorised loader (issue 17): one pyarrow CSV read per file, validation on whole columns, one
# dict only per *bad* row (for its quarantine record). Same output and reasons as the reference.

_NUMERIC = {"client timestamp": pa.float64(), "x": pa.float64(), "y": pa.float64()}
# button / state dictionary-encoded: a handful of distinct words, mapped once per file, never per row
_TEXT = {"record timestamp": pa.string(), "button": pa.dictionary(pa.int32(), pa.string()),
         "state": pa.dictionary(pa.int32(), pa.string())}
EVENT_CODES = np.array([None, *EVENT_TYPES], dtype=object)
BUTTON_CODES = np.array(sorted(set(BUTTON_NAMES.values())), dtype=object)


def sessions(root: Path, labels: dict[str, int] | None = None) -> tuple[list[tuple[str, Path, str, int]], int]:
    """([(part, path, user, is_illegal)], unlabelled test sessions skipped) of a Balabit directory."""
    root = Path(root)
    labels = read_labels(root) if labels is None else labels
    out, unlabelled = [], 0
    for part in ("training_files", "test_files"):
        for user_dir in sorted(p for p in (root / part).glob("user*") if p.is_dir()):
            for path in sorted(p for p in user_dir.glob("session_*") if p.is_file()):
                if part == "test_files" and path.name not in labels:
                    unlabelled += 1
                    continue
                out.append((part, path, user_dir.name, labels.get(path.name, -1) if part == "test_files" else -1))
    return out, unlabelled


def _read_table(path: Path, bad_lines: list) -> pa.Table | None:
    def invalid(row):
        bad_lines.append((row.number, row.text, row.actual_columns))
        return "skip"

    read = pacsv.ReadOptions(use_threads=False)
    parse = pacsv.ParseOptions(invalid_row_handler=invalid)
    try:
        return pacsv.read_csv(path, read_options=read, parse_options=parse,
                              convert_options=pacsv.ConvertOptions(column_types={**_NUMERIC, **_TEXT}))
    except pa.ArrowInvalid:  # a non-number in a numeric column: read as text, coerce below
        bad_lines.clear()
        return pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in HEADER}, strings_can_be_null=False))


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """(per-row code, words) of a text column; codes index ``words``, null is the last word ""."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    column = column.unify_dictionaries() if column.num_chunks > 1 else column
    if column.num_chunks == 0:
        return np.zeros(0, dtype=np.int64), [""]
    combined = column.combine_chunks() if column.num_chunks > 1 else column.chunk(0)
    words = [("" if w is None else str(w).strip()) for w in combined.dictionary.to_pylist()] + [""]
    codes = combined.indices.fill_null(len(words) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, words


def _numbers(column: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_floating(column.type):
        return column.to_numpy(zero_copy_only=False).astype(float, copy=False)
    return pd.to_numeric(pd.Series(column.to_pandas()).str.strip(), errors="coerce").to_numpy(float)


def read_session(path: Path, user: str, is_illegal: int, quarantine: Quarantine, task: str = "balabit") -> dict | None:
    """One session file → column arrays of its valid events (``None`` when nothing is valid);
    bad lines and rows are quarantined with the reference loader's reasons."""
    source = str(path)
    with path.open("rb") as handle:
        header = [h.strip() for h in handle.readline().decode("utf-8", errors="replace").rstrip("\r\n").split(",")]
    if header != HEADER:
        quarantine.add({"header": header}, f"not a Balabit session file (header {header})", source)
        return None
    bad_lines: list = []
    table = _read_table(path, bad_lines)
    table = table.rename_columns(HEADER)
    n = table.num_rows
    skipped = np.array(sorted(b[0] for b in bad_lines), dtype=np.int64)
    # file line of each parsed row: row i sits after the header and the skipped lines before it
    base = np.arange(n, dtype=np.int64) + 2
    lines = base + np.searchsorted(skipped - np.arange(len(skipped)) - 2, np.arange(n), side="right")
    t, x, y = (_numbers(table.column(c)) for c in ("client timestamp", "x", "y"))
    button_codes, button_words = _codes(table.column("button"))
    state_codes, state_words = _codes(table.column("state"))
    # per distinct (button, state): event index (0 = unknown), button name, raw text
    pairs = button_codes.astype(np.int64) * (len(state_words) + 1) + state_codes
    unique_pairs, inverse = np.unique(pairs, return_inverse=True)
    event_index = np.zeros(len(unique_pairs), dtype=np.int8)
    raw_words, button_out = [], []
    for j, pair in enumerate(unique_pairs):
        b, st = button_words[pair // (len(state_words) + 1)], state_words[pair % (len(state_words) + 1)]
        name = _event(b, st)
        event_index[j] = 0 if name is None else list(EVENT_CODES).index(name)
        raw_words.append(f"{b}/{st}")
        button_out.append(BUTTON_NAMES.get(b, b))
    event = EVENT_CODES[event_index[inverse]]
    button_name = np.array(button_out, dtype=object)[inverse]
    raw_state = np.array(raw_words, dtype=object)[inverse]
    # first failing check wins, in the reference loader's order
    bad_event = event_index[inverse] == 0
    bad_button = ~bad_event & ~np.isin(button_name, BUTTON_CODES)
    bad_t = np.isnan(t)
    bad_xy = np.isnan(x) | np.isnan(y)
    out_of_range = ~((x >= 0) & (x <= MAX_COORDINATE) & (y >= 0) & (y <= MAX_COORDINATE))
    failed = bad_event | bad_button | bad_t | bad_xy | out_of_range
    # time going backwards: earlier than the running maximum of the rows kept before it (rows
    # that fail a check never raise that maximum; rows that pass it always do)
    candidate_t = np.where(failed, -np.inf, t)
    previous_max = np.concatenate([[-np.inf], np.maximum.accumulate(candidate_t)[:-1]]) if n else candidate_t
    backwards = ~failed & (t < previous_max)
    for number, text, fields in sorted(bad_lines):
        quarantine.add(text, f"line {number}: {fields} fields, expected 6", source)
    keep = ~(failed | backwards)
    if not keep.all():
        reasons = np.select(
            [bad_event, bad_button, bad_t, bad_xy, out_of_range, backwards],
            ["unknown event/state", "unknown button", "timestamp missing or not a number",
             "coordinate missing or NaN", "coordinate out of range",
             "non-monotonic time (earlier than the previous event)"], default="")
        for i in np.flatnonzero(~keep):
            reason = str(reasons[i])
            if reason == "unknown event/state":
                reason = f"unknown event/state {raw_state[i]!r}"
            elif reason == "unknown button":
                reason = f"unknown button {button_name[i]!r}"
            quarantine.add({"user_id": f"balabit:{user}", "session_id": f"balabit:{path.name.removeprefix('session_')}",
                            "t": float(t[i]), "raw_state": raw_state[i], "x": float(x[i]), "y": float(y[i]),
                            "line": int(lines[i])}, reason, source)
    kept = int(keep.sum())
    if not kept:
        return None
    return {"user": f"balabit:{user}", "session": f"balabit:{path.name.removeprefix('session_')}", "task": task,
            "is_illegal": is_illegal, "n": kept, "t": t[keep], "x": x[keep], "y": y[keep],
            "event": event[keep], "button": button_name[keep]}


def _assemble(parts: list[dict]) -> pd.DataFrame:
    """Column arrays of many sessions → one ``mouse_events`` frame. Text columns are categoricals
    (1-2 bytes a row instead of a pointer or a string each; the lake stores them as strings)."""
    if not parts:
        return to_frame([])
    sizes = np.array([p["n"] for p in parts])

    def repeat(key):
        labels = pd.Categorical([p[key] for p in parts])
        return pd.Categorical.from_codes(np.repeat(labels.codes, sizes), labels.categories)

    def text(key):
        return pd.Categorical(np.concatenate([p[key] for p in parts]))

    total = int(sizes.sum())
    seq = np.arange(total, dtype=np.int32) - np.repeat(np.cumsum(sizes) - sizes, sizes).astype(np.int32)
    return pd.DataFrame({
        "source": pd.Categorical.from_codes(np.zeros(total, dtype=np.int8), ["balabit"]), "user_id": repeat("user"),
        "session_id": repeat("session"), "task": repeat("task"),
        "is_illegal": np.repeat(np.array([p["is_illegal"] for p in parts], dtype=np.int8), sizes),
        "seq": seq, "t": np.concatenate([p["t"] for p in parts]), "event": text("event"), "button": text("button"),
        "x": np.concatenate([p["x"] for p in parts]), "y": np.concatenate([p["y"] for p in parts]),
        "scroll_y": np.full(total, np.nan)}, columns=EVENTS.schema.names)


def load(root: Path, quarantine: Quarantine, parts: tuple[str, ...] = ("training_files", "test_files")) -> pd.DataFrame:
    """Every session under ``root`` (training sessions unlabelled: is_illegal -1). Test sessions
    without a public label are skipped (their owner is unknown) and counted in the log.
    ``parts``: which of ``training_files`` / ``test_files`` to read."""
    root = Path(root)
    tasks = read_tasks(root)
    found, unlabelled = sessions(root, read_labels(root, quarantine))
    arrays = []
    for part, path, user, label in found:
        if part in parts:
            got = read_session(path, user, label, quarantine, tasks.get(path.name, "balabit"))
            if got is not None:
                arrays.append(got)
    frame = _assemble(arrays)
    log.info("balabit %s: %d sessions, %d events, %d unlabelled test sessions skipped, %d rows quarantined",
             root, len(arrays), len(frame), unlabelled, len(quarantine))
    return frame
