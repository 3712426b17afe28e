"""Importer for real browser records in the format of the npm package ``user-agents``
(Intoli, BSD-2-Clause; ``dist/user-agents.json``: 10,000 records of real browser configurations
seen on real sites, each with a popularity ``weight``).

A record: ``userAgent``, ``platform``, ``vendor``, ``language``, ``screenWidth``/``screenHeight``,
``viewportWidth``/``viewportHeight``, ``pluginsLength``, ``deviceCategory``, optional
``connection`` (Network Information API) and ``oscpu``. Only what maps onto the paper's 20
attributes is used: ``js_user_agent`` and ``http_user_agent`` (the UA), ``screen`` (WxH, no colour
depth), ``accept_language`` (the navigator language) and ``plugins`` (only their number is
known: ``"<n> plugins"``). Fonts, IP, time zone, headers are not in the data — the sparse
situation of many real deployments.

``to_visits`` makes each record one visit of its own device (``truth_device`` = the record), so
any match among them is a false merge. ``load_records`` reads the package's JSON array, its
gzip, or our gzipped JSON Lines excerpt (``transforms/fingerprint/data/user_agents_excerpt.jsonl.gz``, :data:`EXCERPT`).
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

EXCERPT = Path(__file__).parent / "data" / "user_agents_excerpt.jsonl.gz"  # 2,000 records, see data/README.md
LICENCE = "BSD-2-Clause, Copyright 2018-present Intoli, LLC (npm package user-agents)"


def load_records(path: str | Path) -> list[dict]:
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = raw.decode("utf-8")
    if text.lstrip().startswith("["):
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [r for r in records if isinstance(r, dict) and r.get("userAgent")]


def to_attributes(record: dict) -> dict:
    width, height = record.get("screenWidth"), record.get("screenHeight")
    plugins = record.get("pluginsLength")
    return {
        "js_user_agent": record.get("userAgent"), "http_user_agent": record.get("userAgent"),
        "screen": f"{int(width)}x{int(height)}" if width and height else None,
        "accept_language": record.get("language") or None,
        "plugins": f"{int(plugins)} plugins" if plugins not in (None, "") else None,
    }


def to_visits(records: list[dict], start=None, every_seconds: int = 60, prefix: str = "ua") -> list[dict]:
    """One visit per record, each a distinct device with its own cookie, ``every_seconds`` apart."""
    start = pd.Timestamp(start if start is not None else "2024-01-01", tz=None)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    visits = []
    for n, record in enumerate(records):
        ts = (start + pd.Timedelta(seconds=every_seconds * n)).isoformat()
        visits.append({"uid": f"{prefix}-{n:06d}", "ts": ts, "truth_device": f"{prefix}-device-{n:06d}",
                       **to_attributes(record)})
    return visits
