"""Search-log files → the normalized rows of one local day, bad rows quarantined with a reason.

Inputs (the files of the input folder, in any slicing: a file per day or months in one file):
the AOL 2006 query-log format (``.txt``/``.tsv``, tab-separated, header ``AnonID Query QueryTime
ItemRank ClickURL``; a query with several clicks repeats its line, so identical (user, query,
time) lines count once) and ``.csv``/``.parquet`` with columns ``user_id, ts, query``. Naive
timestamps are in the configured timezone; days are cut in that timezone. An input index
(:mod:`transforms.common.inputs`) records which days each file holds, so a day's run reads only
those files, and of a plain-text file only that day's lines. A row whose time cannot be parsed
belongs to the day of the nearest parseable row before it in the same file, so each bad row
lands in exactly one partition.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from transforms.common.inputs import (InputIndex, NothingToDo, describe_coverage, header_line, modified_day,
                                      read_day_lines, scan_lines, scan_table, table_days)
from transforms.common.quarantine import Quarantine
from transforms.common.text import decode_bytes

log = logging.getLogger(__name__)
AOL_HEADER = ["AnonID", "Query", "QueryTime", "ItemRank", "ClickURL"]
AOL_HEADER_LINE = "\t".join(AOL_HEADER) + "\n"  # what a file in the AOL layout starts with
AOL_SUFFIXES = {".txt", ".tsv"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
COLUMNS = ["user_id", "ts_raw", "query", "source", "line"]


def input_files(folder: str) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"search-log input folder {folder} does not exist")
    suffixes = AOL_SUFFIXES | {".csv", ".parquet"}
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


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


def _local_day(text: str, timezone: str):
    """Local day of one timestamp text (naive: already local), or None if unreadable."""
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(ZoneInfo(timezone))
    return stamp.date().isoformat()


def _aol_header_ok(path: Path) -> bool:
    fields = header_line(path).decode("utf-8", errors="replace").split("\t")
    return [h.strip() for h in fields[:3]] == AOL_HEADER[:3]


def _aol_day(timezone: str):
    def line_day(line: bytes):
        fields = line.rstrip(b"\r\n").split(b"\t")
        return _local_day(fields[2].decode("utf-8", "replace"), timezone) if 3 <= len(fields) <= 5 else None
    return line_day


def _table_days(timezone: str):
    def row_days(path: Path) -> pd.Series:
        ts = _to_utc(_read_table(path)["ts_raw"], timezone)
        return ts.dt.tz_convert(timezone).dt.strftime("%Y-%m-%d").where(ts.notna())
    return row_days


def input_index(lake, timezone: str) -> InputIndex:
    """Manifests of the input files: which local days (in ``timezone``) each file holds."""
    def scan(path: Path) -> dict:
        if path.suffix.lower() in AOL_SUFFIXES:
            if not _aol_header_ok(path):  # not AOL: every line is quarantined on one day
                return scan_lines(path, lambda line: None, has_header=False)
            return scan_lines(path, _aol_day(timezone), has_header=True)
        try:
            return scan_table(path, _table_days(timezone))
        except Exception as error:  # noqa: BLE001 - unreadable file: quarantined as one row
            manifest = scan_lines(path, lambda line: None) if path.suffix.lower() == ".csv" else {
                "days": {modified_day(path): {"rows": 1, "ranges": None}}, "has_header": False, "seekable": False}
            return {**manifest, "unreadable": f"{type(error).__name__}: {error}"[:500]}
    return InputIndex(lake, f"search_auth-{timezone.replace('/', '_')}", scan)


def _aol_rows(path: Path, numbered_lines, quarantine: Quarantine):
    """Rows of AOL lines ``(number, raw bytes)``; returns (table, lines read, repaired lines).
    The day loader of the DAG and the whole-file loader of the CLI/bench both read through here."""
    header_ok = _aol_header_ok(path)
    rows, read, repaired = [], 0, 0
    for number, raw in numbered_lines:
        read += 1
        line, clean = decode_bytes(raw)
        repaired += not clean
        if not header_ok:
            quarantine.add(line, "not an AOL query log (header is not AnonID, Query, QueryTime)", f"{path.name}:{number}")
            continue
        fields = line.split("\t")
        if len(fields) < 3 or len(fields) > 5:
            rows.append(("", "", line, path.name, number, True, line, ""))
        else:
            rows.append((fields[0], fields[2], fields[1], path.name, number, False, line,
                         fields[4].strip() if len(fields) == 5 else ""))
    return pd.DataFrame(rows, columns=COLUMNS + ["malformed", "raw", "click"]), read, repaired


def _aol_day_rows(path: Path, manifest: dict, ds: str, timezone: str, quarantine: Quarantine):
    """Rows of ``ds`` from an AOL file; returns (table, lines read, repaired lines)."""
    return _aol_rows(path, read_day_lines(path, manifest, ds, _aol_day(timezone)), quarantine)


def _all_lines(path: Path):
    with open(path, "rb") as handle:
        handle.readline()  # header (checked by _aol_header_ok)
        for number, raw in enumerate(handle, start=2):
            yield number, raw.rstrip(b"\r\n")


def _table_day_rows(path: Path, manifest: dict, ds: str, timezone: str, quarantine: Quarantine):
    if manifest.get("unreadable"):
        quarantine.add(path.name, f"unreadable file: {manifest['unreadable']}", path.name)
        return pd.DataFrame(columns=COLUMNS + ["malformed", "raw", "click"]), 1, 0
    table = _read_table(path)
    days = table_days(_table_days(timezone)(path), modified_day(path))
    table = table[(days == ds).to_numpy()]
    raw = table["user_id"].astype(str) + "\t" + table["ts_raw"].astype(str) + "\t" + table["query"].astype(str)
    return table.assign(raw=raw, click=""), len(table), 0


def load_day(folder: str, ds: str, timezone: str, max_query_chars: int, quarantine: Quarantine,
             index: InputIndex) -> tuple[pd.DataFrame, dict]:
    """Valid rows of local day ``ds`` from the input files that hold it, and the ingest counts.
    Exact duplicate lines are counted as duplicates; another click line of the same query (same
    user, time and query) is merged into it; bad rows are quarantined."""
    files = input_files(folder)
    held = index.files_for(files, ds)
    if not held:
        raise NothingToDo(f"no file in {folder} holds a row of {ds} "
                          f"(the {len(files)} input files cover {describe_coverage(index.coverage(files))})")
    frames, read, merged, repaired = [], 0, 0, 0
    for path, manifest in held:
        reader = _aol_day_rows if path.suffix.lower() in AOL_SUFFIXES else _table_day_rows
        table, lines, fixed = reader(path, manifest, ds, timezone, quarantine)
        read, repaired = read + lines, repaired + fixed
        kept, repeats = _clean(table, timezone, max_query_chars, quarantine)
        merged += repeats
        frames.append(kept)
        log.info("%s: %d rows of %s (%d kept)", path.name, lines, ds, len(frames[-1]))
    queries = pd.concat(frames, ignore_index=True).sort_values(["user_id", "ts", "query"], kind="stable",
                                                               ignore_index=True)
    counts = quarantine.summary(read, len(queries), f"queries of {ds}", merged=merged, repaired=repaired)
    return queries, counts


def _clean(table: pd.DataFrame, timezone: str, max_query_chars: int, quarantine: Quarantine):
    """Exact duplicate lines → quarantine as duplicates; other click lines of the same query
    (same user, time, query) merged into it, their clicked domains collected; the row checks of
    :func:`_normalize`. Returns (kept rows, merged count)."""
    duplicate = table.duplicated(subset=["raw"])
    for record in table[duplicate].to_dict("records"):
        quarantine.add_duplicate(record["raw"], f"{record['source']}:{record['line']}")
    table = table[~duplicate]
    key = ["user_id", "ts_raw", "query", "malformed"]
    clicks = table[table["click"].astype(str).ne("") & ~table["malformed"]]
    domains = None
    if len(clicks):
        clicks = clicks.assign(domain=clicks["click"].map(click_domain)).drop_duplicates(key + ["domain"])
        domains = clicks.groupby(key, sort=False)["domain"].agg(lambda d: " ".join(sorted(x for x in d if x)))
    repeat = table.duplicated(subset=key) & ~table["malformed"]
    table = table[~repeat].drop(columns="raw")
    if domains is not None:
        table = table.join(domains.rename("click_domains"), on=key)
    table = table.assign(click_domains=table.get("click_domains", pd.Series("", index=table.index)).fillna(""))
    ts = _to_utc(table["ts_raw"].where(~table["malformed"], ""), timezone)
    return _normalize(table, ts, timezone, max_query_chars, quarantine), int(repeat.sum())


def click_domain(url: str) -> str:
    """``http://www.nytimes.com/`` → ``nytimes.com`` (AOL lists the domain part of the clicked URL)."""
    text = str(url).strip().lower()
    if not text:
        return ""
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text).split("/", 1)[0].split(":", 1)[0]
    return host[4:] if host.startswith("www.") else host


def load_log(path: str, timezone: str, max_query_chars: int, quarantine: Quarantine) -> tuple[pd.DataFrame, dict]:
    """Every valid row of one log file (AOL or CSV/Parquet) with its local day ``ds``, through the
    same checks as the DAG's daily ingest (:func:`load_day`); returns (queries, counts)."""
    source = Path(path)
    if source.suffix.lower() in AOL_SUFFIXES:
        table, read, repaired = _aol_rows(source, _all_lines(source), quarantine)
    else:
        table = _read_table(source)
        raw = table["user_id"].astype(str) + "\t" + table["ts_raw"].astype(str) + "\t" + table["query"].astype(str)
        table, read, repaired = table.assign(raw=raw, click=""), len(table), 0
    queries, merged = _clean(table, timezone, max_query_chars, quarantine)
    queries = queries.sort_values(["user_id", "ts", "query"], kind="stable", ignore_index=True)
    queries["ds"] = queries["ts"].dt.tz_convert(timezone).dt.strftime("%Y-%m-%d")
    counts = quarantine.summary(read, len(queries), f"queries of {source.name}", merged=merged, repaired=repaired)
    return queries, counts


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
            for extra in ("malformed", "click", "click_domains"):
                record.pop(extra, None)
            quarantine.add(record, reason, source)
        bad |= mask
    good = ~bad
    return pd.DataFrame({"user_id": user[good].astype(str), "ts": ts[good], "hour": local[good].dt.hour.astype("int8"),
                         "query": query[good].astype(str), "source": table.loc[good, "source"],
                         "click_domains": table.loc[good, "click_domains"].astype(str)})
