"""HAR 1.2 import: historical crawls exported by other crawlers or browsers become raw visit
documents of a crawl id (``source: har``), so the ordinary extraction stage fills the same tables.

Accepted exporters (one real-format sample of each in ``tests/survey/data/har/``): Chrome
DevTools (``_initiator`` object, ``_resourceType``), Firefox (no ``_initiator``/``_resourceType``,
``pages[].title`` is the URL), puppeteer-har / chrome-har as The Markup's Blacklight writes them
(``_initiator`` a plain URL string, ``_initiator_detail`` JSON text, ``_requestId`` shared by the
hops of a redirect chain), Playwright (``page@…`` page ids, ``_frameref``) and BrowserMob Proxy
(``Page 0`` page ids, empty optional fields). Optional fields may be missing anywhere.

Visits are keyed by the **full host** of the page's first document (``www.cdph.ca.gov`` and
``www.ca.gov`` are two visits): ``visit_id = <crawl_id>:<host>``. Several HAR pages of the same
host (in one file or several) are one visit of that site; their entries are kept together and
their request ids prefixed by the page number so they stay distinct. A page whose first document
has no host (``about:blank``, ``file:``, ``data:``) cannot be attributed to a site and is
quarantined with that reason, as are unreadable files and entries without ``request.url``.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from transforms.common.lake import Lake
from transforms.common.quarantine import Quarantine
from transforms.common.text import safe_json
from transforms.survey import raw, schemas
from transforms.survey.domains import host_of
from transforms.survey.tranco import group_of


def _parse_time(value):
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None  # the entry itself is quarantined by extraction
    return parsed if parsed.tzinfo else None


def _response(entry: dict) -> dict:
    response = entry.get("response")
    return response if isinstance(response, dict) else {}


def _content(entry: dict) -> dict:
    content = _response(entry).get("content")
    return content if isinstance(content, dict) else {}


def _url(entry: dict) -> str:
    return str(entry["request"]["url"])


def _is_document(entry: dict) -> bool:
    kind = str(entry.get("_resourceType") or entry.get("_resource_type") or "").lower()
    if kind:
        return kind == "document"
    return "html" in str(_content(entry).get("mimeType") or "").lower()


def _first_document(entries: list[dict]) -> dict:
    """The page's first document, walked back through redirects to it: exporters without
    ``_resourceType`` (Playwright, Firefox, BrowserMob) give a redirect response no HTML type."""
    start = next((e for e in entries if _is_document(e)), entries[0])
    redirected_from: dict[str, dict] = {}
    for entry in entries:
        target = _response(entry).get("redirectURL")
        if isinstance(target, str) and target:
            from urllib.parse import urljoin
            redirected_from.setdefault(urljoin(_url(entry), target), entry)
    seen = {id(start)}
    while (earlier := redirected_from.get(_url(start))) is not None and id(earlier) not in seen:
        seen.add(id(earlier))
        start = earlier
    return start


def _redirect_chain(entries: list[dict], start: dict) -> list[str]:
    chain, url = [_url(start)], _url(start)
    by_url: dict[str, dict] = {}
    for entry in entries:
        by_url.setdefault(_url(entry), entry)
    while True:
        nxt = _response(by_url.get(url) or {}).get("redirectURL")
        if not nxt or not isinstance(nxt, str) or nxt in chain:
            break
        if "://" not in nxt:  # relative Location (allowed by HAR 1.2)
            from urllib.parse import urljoin
            nxt = urljoin(url, nxt)
        chain.append(nxt)
        url = nxt
    return chain


def _page_groups(log: dict, source: str, quarantine: Quarantine) -> list[tuple[dict, list[dict]]]:
    pages = {p.get("id"): p for p in log.get("pages") or [] if isinstance(p, dict)}
    grouped: dict[str, list[dict]] = defaultdict(list)
    for entry in log["entries"]:
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not request.get("url") or not isinstance(request["url"], str):
            quarantine.add(entry, "HAR entry without request.url", source)
            continue
        grouped[entry.get("pageref") or "_"].append(entry)
    order = list(pages) + [p for p in grouped if p not in pages]
    return [(pages.get(ref) or {}, grouped[ref]) for ref in order if grouped.get(ref)]


def visit_docs(har: dict, crawl_id: str, source: str, quarantine: Quarantine) -> list[dict]:
    """Raw visit documents of one HAR (one per page host); bad parts go to ``quarantine``."""
    log = har.get("log") if isinstance(har, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        quarantine.add({"source": source}, "not a HAR file (no log.entries)", source)
        return []
    creator = (log.get("creator") or {}).get("name") if isinstance(log.get("creator"), dict) else None
    docs = []
    for page, entries in _page_groups(log, source, quarantine):
        entries.sort(key=lambda e: str(e.get("startedDateTime") or ""))
        start = _first_document(entries)
        chain = _redirect_chain(entries, start)
        host = host_of(chain[0])
        if not host:
            quarantine.add({"page": page.get("id"), "url": chain[0], "entries": len(entries)},
                           f"HAR page without a host ({chain[0][:80]}): cannot be attributed to a site", source)
            continue
        final = next((e for e in entries if _url(e) == chain[-1]), start)
        text = _content(final).get("text") or ""
        html = text if isinstance(text, str) and _content(final).get("encoding") != "base64" else ""
        times = sorted(t for e in entries if (t := _parse_time(e.get("startedDateTime"))))
        title = page.get("title")
        docs.append({
            "crawl_id": crawl_id, "domain": host, "rank": None, "group": group_of(host),
            "visit_id": f"{crawl_id}:{host}", "source": "har", "outcome": "ok", "error_message": None,
            "retries": 0, "partial": False,
            "started_at": times[0].isoformat() if times else None,
            "ended_at": times[-1].isoformat() if times else None,
            "duration_s": (times[-1] - times[0]).total_seconds() if times else None,
            "start_url": chain[0], "final_url": chain[-1], "redirect_chain": chain,
            "title": title if isinstance(title, str) else None, "html": html, "html_size": len(html.encode()),
            "html_sha256": hashlib.sha256(html.encode()).hexdigest() if html else None,
            "attempts": [{"url": chain[0], "outcome": "ok", "started_at": times[0].isoformat() if times else None,
                          "browser_id": f"har:{Path(source).name}" + (f" ({creator})" if creator else "")}],
            "har_pages": [{"source": source, "page_id": page.get("id"), "url": chain[0], "entries": len(entries)}],
            "har_entries": [dict(e, _trackscope_page=0) for e in entries], "policy": None,
        })
    return docs


def merge_by_host(docs: list[dict]) -> list[dict]:
    """One visit per page host: later pages of a host join its first page's visit."""
    merged: dict[str, dict] = {}
    for doc in docs:
        first = merged.get(doc["visit_id"])
        if first is None:
            merged[doc["visit_id"]] = doc
            continue
        page_no = len(first["har_pages"])
        first["har_pages"].extend(doc["har_pages"])
        first["har_entries"].extend(dict(e, _trackscope_page=page_no) for e in doc["har_entries"])
        first["attempts"].extend(doc["attempts"])
        for key, pick in (("started_at", min), ("ended_at", max)):
            values = [v for v in (first[key], doc[key]) if v]
            first[key] = pick(values) if values else None
        if first["started_at"] and first["ended_at"]:
            first["duration_s"] = (datetime.fromisoformat(first["ended_at"]) -
                                   datetime.fromisoformat(first["started_at"])).total_seconds()
    return list(merged.values())


def import_files(lake: Lake, crawl_id: str, paths: list[str]) -> dict:
    """Write raw documents for every page host of the HAR files; returns counts."""
    quarantine = Quarantine("har_import")
    docs = []
    for path in paths:
        try:
            har = safe_json(json.loads(Path(path).read_text(encoding="utf-8-sig")))
        except (OSError, ValueError) as exc:
            quarantine.add({"path": str(path)}, f"unreadable HAR: {exc}", str(path))
            continue
        docs.extend(visit_docs(har, crawl_id, str(path), quarantine))
    visits = merge_by_host(docs)
    for doc in visits:
        raw.write_visit(lake, doc)
    quarantine.write(lake, "survey_raw", schemas.KEY, crawl_id)
    return {"visits": len(visits), "pages": len(docs), "quarantined": len(quarantine)}
