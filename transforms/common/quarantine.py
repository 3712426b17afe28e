"""Rows that fail parsing or validation are kept, with why, never dropped silently.

One quarantine table per source dataset, partitioned like it: ``quarantine_<dataset>``.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Iterable

import pandas as pd
import pyarrow as pa

from transforms.common.lake import DatasetSpec, Lake

log = logging.getLogger(__name__)

QUARANTINE_SCHEMA = pa.schema(
    [
        ("stage", pa.string()),
        ("source", pa.string()),
        ("reason", pa.string()),
        ("row", pa.string()),  # the offending row as JSON (or the raw line)
        ("recorded_at", pa.timestamp("us", tz="UTC")),
    ]
)


def quarantine_spec(dataset: str, partition_key: str) -> DatasetSpec:
    return DatasetSpec(f"quarantine_{dataset}", QUARANTINE_SCHEMA, partition_key)


class Quarantine:
    """Collects bad rows of one stage and partition, then writes them in one replace."""

    def __init__(self, stage: str):
        self.stage = stage
        self.rows: list[dict] = []

    def add(self, row, reason: str, source: str = "") -> None:
        text = row if isinstance(row, str) else json.dumps(row, ensure_ascii=False, default=str)
        self.rows.append({"stage": self.stage, "source": source, "reason": reason, "row": text})

    def extend(self, rows: Iterable, reason: str, source: str = "") -> None:
        for row in rows:
            self.add(row, reason, source)

    def __len__(self) -> int:
        return len(self.rows)

    def counts(self) -> dict[str, int]:
        return pd.Series([r["reason"] for r in self.rows], dtype="object").value_counts().to_dict()

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
