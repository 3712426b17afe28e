"""HAR 1.2 import: historical crawls exported by other crawlers or browsers become raw visit
documents of a crawl id (``source: har``), so the ordinary extraction stage fills the same tables.

One visit per HAR page (entries grouped by ``pageref``); a HAR without pages is one visit. The
site is the host of the first document request; its HTML is taken from the entry's content when
the export kept it.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from collections import defaultdict
from pathlib import Path

from transforms.common.lake import Lake
from transforms.common.quarantine import Quarantine
from transforms.survey import raw, schemas
from transforms.survey.domains import host_of, registrable_domain
from transforms.survey.tranco import group_of


def _parse_time(value):
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None  # the entry itself is quarantined by extraction


def _first_document(entries: list[dict]) -> dict:
    for entry in entries:
        if (entry.get("_resourceType") or "").lower() == "document" or \
                "html" in ((entry.get("response") or {}).get("content") or {}).get("mimeType", ""):
            return entry
    return entries[0]


def _redirect_chain(entries: list[dict], start: dict) -> list[str]:
    chain, url = [start["request"]["url"]], start["request"]["url"]
    by_url = {e["request"]["url"]: e for e in entries}
    while (nxt := ((by_url.get(url) or {}).get("response") or {}).get("redirectURL")) and nxt not in chain:
        chain.append(nxt)
        url = nxt
    return chain


def visit_docs(har: dict, crawl_id: str, source: str, quarantine: Quarantine) -> list[dict]:
    log = har.get("log")
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        quarantine.add({"source": source}, "not a HAR file (no log.entries)", source)
        return []
    pages = {p.get("id"): p for p in log.get("pages") or []}
    grouped: dict[str, list[dict]] = defaultdict(list)
    for entry in log["entries"]:
        if not isinstance(entry, dict) or not (entry.get("request") or {}).get("url"):
            quarantine.add(entry, "HAR entry without request.url", source)
            continue
        grouped[entry.get("pageref") or "_"].append(entry)
    docs = []
    for pageref, entries in grouped.items():
        entries.sort(key=lambda e: e.get("startedDateTime") or "")
        start = _first_document(entries)
        chain = _redirect_chain(entries, start)
        domain = registrable_domain(host_of(chain[0]))
        final = next((e for e in entries if e["request"]["url"] == chain[-1]), start)
        html = ((final.get("response") or {}).get("content") or {}).get("text") or ""
        page = pages.get(pageref) or {}
        times = sorted(t for e in entries if (t := _parse_time(e.get("startedDateTime"))))
        docs.append({
            "crawl_id": crawl_id, "domain": domain, "rank": None, "group": group_of(domain),
            "visit_id": f"{crawl_id}:{domain}", "source": "har", "outcome": "ok", "error_message": None,
            "retries": 0, "partial": False,
            "started_at": times[0].isoformat() if times else None,
            "ended_at": times[-1].isoformat() if times else None,
            "duration_s": (times[-1] - times[0]).total_seconds() if times else None,
            "start_url": chain[0], "final_url": chain[-1], "redirect_chain": chain,
            "title": page.get("title"), "html": html, "html_size": len(html.encode()),
            "html_sha256": hashlib.sha256(html.encode()).hexdigest() if html else None,
            "attempts": [{"url": chain[0], "outcome": "ok", "started_at": times[0].isoformat() if times else None,
                          "browser_id": f"har:{Path(source).name}"}],
            "har_entries": entries, "policy": None,
        })
    return docs


def import_files(lake: Lake, crawl_id: str, paths: list[str]) -> dict:
    """Write raw documents for every page of the HAR files; returns counts."""
    quarantine = Quarantine("har_import")
    written = 0
    for path in paths:
        try:
            har = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            quarantine.add({"path": str(path)}, f"unreadable HAR: {exc}", str(path))
            continue
        for doc in visit_docs(har, crawl_id, str(path), quarantine):
            raw.write_visit(lake, doc)
            written += 1
    quarantine.write(lake, "survey_raw", schemas.KEY, crawl_id)
    return {"visits": written, "quarantined": len(quarantine)}
