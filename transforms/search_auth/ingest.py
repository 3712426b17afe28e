"""Search-log files → the normalized rows of one local day, bad rows quarantined with a reason.

Inputs (every file in the input folder): the AOL 2006 query-log format (``.txt``/``.tsv``,
tab-separated, header ``AnonID Query QueryTime ItemRank ClickURL``; a query with several clicks
repeats its line, so identical (user, query, time) lines count once) and ``.csv``/``.parquet``
with columns ``user_id, ts, query``. Naive timestamps are in the configured timezone; days are
cut in that timezone. A row whose time cannot be parsed has no day of its own: it is
quarantined with the day of the nearest parseable row before it in the same file, so each bad
row lands in exactly one partition.
"""
from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine

log = logging.getLogger(__name__)
AOL_HEADER = ["AnonID", "Query", "QueryTime", "ItemRank", "ClickURL"]
AOL_SUFFIXES = {".txt", ".tsv"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
COLUMNS = ["user_id", "ts_raw", "query", "source", "line"]


def input_files(folder: str) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"search-log input folder {folder} does not exist")
    suffixes = AOL_SUFFIXES | {".csv", ".parquet"}
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def _read_aol(path: Path, quarantine: Quarantine | None = None) -> pd.DataFrame:
    """Rows in file order; a malformed line is kept as a row with ``malformed`` set, so it is
    quarantined with the day of the row before it, like a bad time."""
    rows = []
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            return pd.DataFrame(columns=COLUMNS)
        if [h.strip() for h in header[:3]] != AOL_HEADER[:3]:
            raise ValueError(f"{path.name}: not an AOL query log (header {header})")
        for number, fields in enumerate(reader, start=2):
            if len(fields) < 3 or len(fields) > 5:
                rows.append(("", "", "\t".join(fields), path.name, number, True))
                continue
            rows.append((fields[0], fields[2], fields[1], path.name, number, False))
    frame = pd.DataFrame(rows, columns=COLUMNS + ["malformed"])
    return frame.drop_duplicates(subset=["user_id", "ts_raw", "query", "malformed"])  # click lines repeat


def _read_table(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(
        path, dtype=str, keep_default_na=False)
    missing = {"user_id", "ts", "query"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path.name}: missing columns {sorted(missing)}")
    out = pd.DataFrame({"user_id": frame["user_id"].astype("string").fillna(""),
                        "ts_raw": frame["ts"].astype("string").fillna(""),
                        "query": frame["query"].astype("string").fillna("")})
    out["source"] = path.name
    out["line"] = range(2, len(out) + 2)
    out["malformed"] = False
    return out


def _to_utc(raw: pd.Series, timezone: str) -> pd.Series:
    """Timestamps with an offset are converted; naive ones are local to ``timezone``."""
    text = raw.astype("string").str.strip()
    aware = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    if aware.any():
        out[aware] = pd.to_datetime(text[aware], errors="coerce", utc=True, format="ISO8601")
    naive = ~aware
    if naive.any():
        local = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        out[naive] = local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    return out


_PARSED: dict = {}  # (path, mtime, size, timezone) -> parsed file: a backfill reads each file once


def _parsed(path: Path, timezone: str):
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, timezone)
    if key not in _PARSED:
        table = _read_aol(path) if path.suffix.lower() in AOL_SUFFIXES else _read_table(path)
        table = table.reset_index(drop=True)
        ts = _to_utc(table["ts_raw"].where(~table["malformed"], ""), timezone)
        day = ts.dt.tz_convert(timezone).dt.strftime("%Y-%m-%d").astype("object")
        day = day.where(ts.notna()).ffill().bfill()  # a bad row belongs to the day of the row before it
        if len(_PARSED) > 8:
            _PARSED.clear()
        _PARSED[key] = (table, ts, day)
    return _PARSED[key]


def load_day(folder: str, ds: str, timezone: str, max_query_chars: int,
             quarantine: Quarantine) -> pd.DataFrame:
    """Valid rows of local day ``ds`` from every input file; bad rows of that day quarantined."""
    frames = []
    for path in input_files(folder):
        table, ts, day = _parsed(path, timezone)
        mine = (day == ds).to_numpy()
        frames.append(_normalize(table[mine], ts[mine], timezone, max_query_chars, quarantine))
        log.info("%s: %d rows read, %d on %s", path.name, len(table), len(frames[-1]), ds)
    if not frames:
        return pd.DataFrame(columns=["user_id", "ts", "hour", "query", "source"])
    return pd.concat(frames, ignore_index=True).sort_values(["user_id", "ts", "query"], kind="stable",
                                                            ignore_index=True)


def _normalize(table: pd.DataFrame, ts: pd.Series, timezone: str, max_chars: int,
               quarantine: Quarantine) -> pd.DataFrame:
    local = ts.dt.tz_convert(timezone)
    user = table["user_id"].astype("string").str.strip()
    query = table["query"].astype("string").str.strip()
    checks = [
        (table["malformed"].astype(bool), "malformed line (expected 3-5 tab-separated fields)"),
        (user.fillna("").eq(""), "empty user"),
        (ts.isna(), "unparseable time"),
        (query.fillna("").eq(""), "empty query"),
        (query.str.contains(_CONTROL, na=False) | user.str.contains(_CONTROL, na=False), "control characters"),
        (query.str.len().fillna(0) > max_chars, f"over-long query (> {max_chars} chars)"),
    ]
    bad = pd.Series(False, index=table.index)
    for mask, reason in checks:
        fresh = mask & ~bad
        for record in table[fresh].to_dict("records"):
            source = record.pop("source")
            record.pop("malformed", None)
            quarantine.add(record, reason, source)
        bad |= mask
    good = ~bad
    return pd.DataFrame({"user_id": user[good].astype(str), "ts": ts[good], "hour": local[good].dt.hour.astype("int8"),
                         "query": query[good].astype(str), "source": table.loc[good, "source"]})
