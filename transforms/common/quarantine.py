"""Rows that fail parsing or validation are kept, with why, never dropped silently.

One quarantine table per source dataset, partitioned like it: ``quarantine_<dataset>``.
Exact duplicates are recorded there too (reason ``duplicate``) and counted apart, so every
ingest can say: read = kept + quarantined + duplicates (:meth:`Quarantine.summary`).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Iterable

import pandas as pd
import pyarrow as pa

from transforms.common.contract import Col, DatasetSpec
from transforms.common.lake import Lake
from transforms.common.text import safe_text

log = logging.getLogger(__name__)
DUPLICATE = "duplicate"
MAX_ROW_CHARS = 20_000  # a 10 MB garbage line is kept as its start, with its length

QUARANTINE_COLUMNS = [
    Col("stage", pa.string(), nullable=False),
    Col("source", pa.string()),
    Col("reason", pa.string(), nullable=False),
    Col("row", pa.string(), doc="the offending row as JSON (or the raw line), made safe to store"),
    Col("recorded_at", pa.timestamp("us", tz="UTC")),
]
QUARANTINE_SCHEMA = pa.schema([pa.field(c.name, c.type) for c in QUARANTINE_COLUMNS])


def quarantine_spec(dataset: str, partition_key: str) -> DatasetSpec:
    return DatasetSpec(f"quarantine_{dataset}", QUARANTINE_COLUMNS, partition_key)


def _row_text(row) -> str:
    if isinstance(row, bytes):
        row = row.decode("utf-8", errors="replace")
    text = row if isinstance(row, str) else json.dumps(row, ensure_ascii=False, default=str)
    text = safe_text(text)
    if len(text) > MAX_ROW_CHARS:
        text = f"{text[:MAX_ROW_CHARS]}… [{len(text)} characters, cut]"
    return text


class Quarantine:
    """Collects bad rows of one stage and partition, then writes them in one replace."""

    def __init__(self, stage: str):
        self.stage = stage
        self.rows: list[dict] = []

    def add(self, row, reason: str, source: str = "") -> None:
        self.rows.append({"stage": self.stage, "source": safe_text(source)[:1000], "reason": safe_text(reason)[:1000],
                          "row": _row_text(row)})

    def add_duplicate(self, row, source: str = "") -> None:
        self.add(row, DUPLICATE, source)

    def extend(self, rows: Iterable, reason: str, source: str = "") -> None:
        for row in rows:
            self.add(row, reason, source)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def duplicates(self) -> int:
        return sum(r["reason"] == DUPLICATE for r in self.rows)

    @property
    def quarantined(self) -> int:
        return len(self.rows) - self.duplicates

    def counts(self) -> dict[str, int]:
        return pd.Series([r["reason"] for r in self.rows], dtype="object").value_counts().to_dict()

    def summary(self, read: int, kept: int, what: str = "rows", merged: int = 0, **notes: int) -> dict:
        """read / kept / merged / quarantined / duplicates of one ingest, logged. ``merged``: rows
        folded into an earlier row (e.g. another click of the same query); ``notes``: counts that
        overlap the others (e.g. ``repaired`` rows kept with invalid bytes replaced).
        ``unaccounted`` is what the counts do not explain: 0 unless a loader lost rows (a bug,
        logged as an error)."""
        out = {"read": read, "kept": kept, "merged": merged, "quarantined": self.quarantined,
               "duplicates": self.duplicates, **notes,
               "unaccounted": read - kept - merged - self.quarantined - self.duplicates,
               "reasons": {k: v for k, v in self.counts().items() if k != DUPLICATE}}
        (log.error if out["unaccounted"] else log.warning if self.rows else log.info)(
            "%s %s: read %d, kept %d, merged %d, quarantined %d, duplicates %d%s%s %s", self.stage, what, read, kept,
            merged, out["quarantined"], out["duplicates"], "".join(f", {k} {v}" for k, v in notes.items()),
            f", UNACCOUNTED {out['unaccounted']}" if out["unaccounted"] else "", out["reasons"] or "")
        return out

    def write(self, lake: Lake, dataset: str, partition_key: str, value: str) -> int:
        """Replace this stage's quarantine rows for the partition (keeps other stages' rows)."""
        spec = quarantine_spec(dataset, partition_key)
        old = lake.read_partition(spec, value)
        old = old[old["stage"] != self.stage]
        now = datetime.now(timezone.utc)
        new = pd.DataFrame(self.rows, columns=["stage", "source", "reason", "row"]).assign(recorded_at=now)
        frame = pd.concat([old, new], ignore_index=True) if len(old) else new
        lake.write_partition(spec, value, frame)
        if self.rows:
            log.warning("quarantined %d %s rows at %s (%s=%s): %s", len(self.rows), dataset, self.stage,
                        partition_key, value, self.counts())
        return len(self.rows)
