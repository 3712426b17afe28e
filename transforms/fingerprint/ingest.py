"""Fingerprint visit files (JSON Lines, CSV, Parquet) → validated, normalised visit rows.

Bad input never stops the run and is never dropped silently: unparsable lines, non-UTF-8 text,
visits without a usable timestamp or outside the day being ingested, visits without attributes
and repeated visits go to the quarantine with the reason; over-long attribute values are capped
and the capped attribute names are kept on the row.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine
from transforms.fingerprint import attributes as attrs

log = logging.getLogger(__name__)
SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv", ".parquet")


def day_files(input_dir: str, ds: str) -> list[Path]:
    """Input files of one day: ``visits-<ds>.<suffix>`` (or anything containing ``<ds>``)."""
    folder = Path(input_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if ds in p.name and p.suffix in SUFFIXES)


def read_records(path: Path, quarantine: Quarantine) -> list[dict]:
    """Raw records of one file; lines that are not UTF-8 JSON objects are quarantined."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path).astype(object).where(lambda f: f.notna(), None).to_dict("records")
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding_errors="replace")
        return frame.replace({"": None}).to_dict("records")
    records = []
    for number, raw in enumerate(path.read_bytes().splitlines(), 1):
        if not raw.strip():
            continue
        source = f"{path.name}:{number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            quarantine.add(raw.decode("utf-8", "backslashreplace"), "not UTF-8", source)
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            quarantine.add(text[:2000], f"malformed JSON: {err.msg}", source)
            continue
        if not isinstance(record, dict):
            quarantine.add(text[:2000], "not a JSON object", source)
            continue
        record["_source"] = source
        records.append(record)
    return records


def normalise_records(records: list[dict], ds: str | None, max_chars: int, quarantine: Quarantine) -> pd.DataFrame:
    """Validated rows in the fp_visits layout; ``ds`` (if given) is the only day accepted."""
    rows, seen = [], set()
    for record in records:
        source = str(record.pop("_source", ""))
        raw_ts = record.get("ts")
        if raw_ts is not None and not isinstance(raw_ts, str):  # a list or object would be parsed element-wise
            quarantine.add(record, "timestamp is not a string", source)
            continue
        ts = pd.to_datetime(raw_ts, utc=True, errors="coerce", format="ISO8601")
        if pd.isna(ts):
            quarantine.add(record, "missing or unparsable timestamp", source)
            continue
        if ds is not None and ts.strftime("%Y-%m-%d") != ds:
            quarantine.add(record, f"timestamp {ts.isoformat()} outside partition {ds}", source)
            continue
        row, capped = {}, []
        for name in attrs.ATTRIBUTES:
            value = attrs.normalise(name, record.get(name))
            if value is not None and len(value) > max_chars:
                value = value[:max_chars]
                capped.append(name)
            row[name] = value
        present = sum(v not in (None, "") for v in row.values())
        if present == 0:
            quarantine.add(record, "no fingerprint attributes", source)
            continue
        canonical = attrs.canonical_string(row)
        uid = record.get("uid")
        uid = str(uid)[:200] if uid not in (None, "") else None
        fp_md5 = attrs.md5(canonical)
        visit_id = attrs.md5(f"{uid}|{ts.isoformat()}|{fp_md5}")[:16]
        if visit_id in seen:
            quarantine.add(record, "duplicate visit (same UID, time and fingerprint)", source)
            continue
        seen.add(visit_id)
        if capped:
            log.warning("%s: capped %s at %d characters", source, capped, max_chars)
        rows.append({"visit_id": visit_id, "uid": uid, "ts": ts, **row,
                     "truth_device": record.get("truth_device"), "capped": ",".join(capped),
                     "n_attributes": present, "fp_md5": fp_md5, "fp_ssdeep": attrs.fuzzy_hash(canonical),
                     "source": source})
    frame = pd.DataFrame(rows)
    if frame.empty:
        from transforms.fingerprint.schemas import VISITS

        return VISITS.schema.empty_table().to_pandas()
    return frame.sort_values(["ts", "visit_id"]).reset_index(drop=True)
