"""Input files indexed by the days they cover, so a daily run reads only its day.

Operators drop logs in a folder in whatever slices they have: one file per day, a month in one
file, a 2006 query log in ten files. For every input file a small manifest (under the lake's
``_inputs/<pipeline>/``) records which days it holds, how many rows each, and — for plain text
files — the byte ranges of each day's lines. It is rebuilt when the file's size or modification
time changes. A daily run then opens only the files holding its day and reads only that day's
byte ranges (gzip files are streamed and filtered instead).

Which day a row belongs to is the domain's rule (``line_day``: the local day of its timestamp).
A row whose time cannot be read belongs to the day of the nearest datable row before it in the
same file (after it, at the start of a file), so every row — good or bad — is read by exactly one
daily run, and quarantined there if bad. A file with no datable row at all belongs, whole, to
the UTC day it was last modified.
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import pandas as pd

from transforms.common.lake import Lake

log = logging.getLogger(__name__)
INDEX_VERSION = 1
MAX_RANGES_PER_DAY = 2000  # an unsorted file whose days interleave this much is streamed instead

LineDay = Callable[[bytes], Optional[str]]  # a raw line → its day "YYYY-MM-DD", or None if undatable


class NothingToDo(RuntimeError):
    """A run whose inputs hold nothing for its partition: it must not succeed empty. The DAG
    glue fails the task with this message (or skips it, if ``empty_partition=skip``)."""


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _numbered(handle, skip_header: bool) -> Iterator[tuple[int, int, bytes]]:
    """(offset, line number, line) of every non-empty line; the header line is skipped."""
    offset = 0
    for number, line in enumerate(handle, 1):
        start, offset = offset, offset + len(line)
        if number == 1 and skip_header:
            continue
        if line.strip():
            yield start, number, line


def assign_days(lines: Iterable[tuple[int, int, bytes]], line_day: LineDay, fallback_day: str
                ) -> Iterator[tuple[int, int, bytes, str]]:
    """(offset, line number, line, day) with the module's rule for undatable lines."""
    pending = []  # undatable lines before the first datable one
    current = None
    for offset, number, line in lines:
        try:
            day = line_day(line)
        except Exception:  # noqa: BLE001 - a domain parser choking on garbage means "no day"
            day = None
        if day is None:
            if current is None:
                pending.append((offset, number, line))
                continue
            day = current
        elif current is None:
            yield from ((o, n, text, day) for o, n, text in pending)
            pending = []
        current = day
        yield offset, number, line, day
    yield from ((o, n, text, fallback_day) for o, n, text in pending)


def modified_day(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d")


def scan_lines(path: Path, line_day: LineDay, has_header: bool = False) -> dict:
    """The manifest of a line-oriented file (plain or gzip)."""
    started, days = time.perf_counter(), {}
    seekable = not path.name.endswith(".gz")
    with _open(path) as handle:
        for offset, number, line, day in assign_days(_numbered(handle, has_header), line_day, modified_day(path)):
            entry = days.setdefault(day, {"rows": 0, "ranges": []})
            entry["rows"] += 1
            ranges = entry["ranges"]
            if seekable and ranges is not None:
                if ranges and ranges[-1][1] == offset:
                    ranges[-1][1] = offset + len(line)
                elif len(ranges) < MAX_RANGES_PER_DAY:
                    ranges.append([offset, offset + len(line), number])
                else:
                    entry["ranges"] = None
    log.info("indexed %s: %d days, %d rows (%.1fs)", path.name, len(days), sum(d["rows"] for d in days.values()),
             time.perf_counter() - started)
    return {"days": days, "has_header": has_header, "seekable": seekable}


def read_day_lines(path: Path, manifest: dict, day: str, line_day: LineDay) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of ``day`` in ``path``: by byte ranges when the manifest has them,
    else by streaming the file and keeping the lines the same rule assigns to ``day``."""
    entry = manifest["days"].get(day)
    if entry is None:
        return
    if manifest["seekable"] and entry["ranges"] is not None:
        with open(path, "rb") as handle:
            for start, end, first_number in entry["ranges"]:
                handle.seek(start)
                for number, line in enumerate(handle.read(end - start).splitlines(keepends=True), first_number):
                    if line.strip():
                        yield number, line.rstrip(b"\r\n")
        return
    with _open(path) as handle:
        lines = _numbered(handle, manifest["has_header"])
        for _offset, number, line, line_day_ in assign_days(lines, line_day, modified_day(path)):
            if line_day_ == day:
                yield number, line.rstrip(b"\r\n")


def table_days(days: pd.Series, fallback_day: str) -> pd.Series:
    """Per-row days of a table file (Parquet, CSV read whole) with the module's rule for
    undatable rows (None/NaN in ``days``)."""
    return days.astype("object").where(days.notna()).ffill().bfill().fillna(fallback_day)


def scan_table(path: Path, row_days: Callable[[Path], pd.Series]) -> dict:
    """The manifest of a table file; ``row_days(path)`` gives each row's day or None."""
    counts = table_days(row_days(path), modified_day(path)).value_counts()
    return {"days": {str(d): {"rows": int(n), "ranges": None} for d, n in sorted(counts.items())},
            "has_header": False, "seekable": False}


def header_line(path: Path) -> bytes:
    with _open(path) as handle:
        return handle.readline().rstrip(b"\r\n")


class InputIndex:
    """Manifests of the files of one input folder; ``scan(path) -> manifest`` is the domain's
    (usually :func:`scan_lines` with its ``line_day``)."""

    def __init__(self, lake: Optional[Lake], pipeline: str, scan: Callable[[Path], dict]):
        """``lake=None`` keeps the manifests in memory only (CLIs, one-off reads)."""
        self.lake, self.pipeline, self.scan = lake, pipeline, scan
        self._memory: dict[str, dict] = {}

    def _manifest_path(self, path: Path) -> str:
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
        return f"_inputs/{self.pipeline}/{digest}.json"

    def manifest(self, path: Path) -> dict:
        """The file's manifest, rebuilt if the file changed since it was written."""
        stat = path.stat()
        stamp = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                 "index_version": INDEX_VERSION}
        where = self._manifest_path(path)
        stored = self._memory.get(where)
        if stored is None and self.lake is not None and self.lake.exists(self.lake.path(where)):
            stored = self.lake.read_json(where)
        if stored is not None and all(stored.get(k) == v for k, v in stamp.items()):
            self._memory[where] = stored
            return stored
        manifest = {**stamp, **self.scan(path)}
        if self.lake is not None:
            self.lake.write_json(where, manifest)
        self._memory[where] = manifest
        return manifest

    def files_for(self, paths: Iterable[Path], day: str) -> list[tuple[Path, dict]]:
        """(path, manifest) of the files that hold rows of ``day``."""
        return [(p, m) for p in paths for m in [self.manifest(p)] if day in m["days"]]

    def coverage(self, paths: Iterable[Path]) -> dict[str, int]:
        """Rows per day over all files: what a run can say when its day has none."""
        rows: dict[str, int] = {}
        for path in paths:
            for day, entry in self.manifest(path)["days"].items():
                rows[day] = rows.get(day, 0) + entry["rows"]
        return dict(sorted(rows.items()))


def describe_coverage(rows_by_day: dict[str, int]) -> str:
    """'2006-03-01..2006-05-31 (91 days, 3,558,411 rows)' for messages."""
    if not rows_by_day:
        return "no rows at all"
    days = sorted(rows_by_day)
    return f"{days[0]}..{days[-1]} ({len(days)} days, {sum(rows_by_day.values()):,} rows)"
