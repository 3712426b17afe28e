"""Request-log extraction: raw visit documents → ``site_visits``, ``requests``, ``crawl_history``
and ``pages`` tables of one crawl.

Raw documents come from the crawler (ChromeDriver performance-log ``Network.*`` events) or from
HAR 1.2 imports (``har_entries``; see :mod:`transforms.survey.har`); both end in the same rows.
Events that cannot be understood go to quarantine with the reason.
"""
from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timezone
from typing import Iterable

import pandas as pd

from transforms.common.lake import Lake
from transforms.common.quarantine import Quarantine
from transforms.survey import schemas
from transforms.survey.domains import host_of, registrable_domain

log = logging.getLogger(__name__)
CAPTURED_SCHEMES = ("http://", "https://", "ws://", "wss://")


def _ts(value) -> pd.Timestamp | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return pd.Timestamp(datetime.fromtimestamp(value, tz=timezone.utc))
    return pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(value, tz="UTC")


def _post_size(request: dict) -> int:
    if request.get("postData") is not None:
        return len(request["postData"].encode("utf-8", errors="replace"))
    entries = request.get("postDataEntries") or []
    if entries:
        return sum(len(base64.b64decode(e.get("bytes", ""), validate=False)) for e in entries)
    return 0


def _site_domain(doc: dict) -> str:
    return registrable_domain(host_of(doc.get("final_url") or "") or doc["domain"])


def _request_row(doc: dict, request_id: str, url: str, site: str) -> dict:
    host = host_of(url)
    reg = registrable_domain(host)
    return {
        "visit_id": doc["visit_id"], "domain": doc["domain"], "request_id": request_id, "url": url,
        "host": host, "registrable_domain": reg, "method": None, "resource_type": None,
        "initiator_type": None, "initiator_url": None, "frame_id": None, "ts": None, "status": None,
        "remote_ip": None, "mime_type": None, "post_body_size": 0, "third_party": reg != site,
        "failed": False, "error_text": None, "partial": bool(doc.get("partial")),
    }


def _apply_response(row: dict, response: dict) -> None:
    row["status"] = response.get("status")
    row["remote_ip"] = response.get("remoteIPAddress") or None
    row["mime_type"] = response.get("mimeType") or None


def requests_from_cdp(doc: dict, quarantine: Quarantine) -> list[dict]:
    """One row per request hop: a redirect reuses the CDP requestId, so hops get ``#n`` suffixes."""
    site = _site_domain(doc)
    rows: list[dict] = []
    current: dict[str, dict] = {}
    hops: dict[str, int] = {}
    for event in doc.get("events") or []:
        method, params = event.get("method"), event.get("params") or {}
        request_id = params.get("requestId")
        if not method or not isinstance(params, dict):
            quarantine.add(event, "event without method/params", doc["visit_id"])
            continue
        if method == "Network.requestWillBeSent":
            request = params.get("request") or {}
            url = request.get("url") or ""
            if not url.startswith(CAPTURED_SCHEMES):
                continue  # data:, blob:, chrome-extension: never leave the browser
            if request_id in current and params.get("redirectResponse"):
                _apply_response(current[request_id], params["redirectResponse"])
            hops[request_id] = hops.get(request_id, -1) + 1
            suffix = f"#{hops[request_id]}" if hops[request_id] else ""
            row = _request_row(doc, f"{request_id}{suffix}", url, site)
            initiator = params.get("initiator") or {}
            stack_url = next((f.get("url") for f in (initiator.get("stack") or {}).get("callFrames", [])
                              if f.get("url")), None)
            row.update(method=request.get("method"), resource_type=params.get("type"),
                       initiator_type=initiator.get("type"), initiator_url=initiator.get("url") or stack_url,
                       frame_id=params.get("frameId"), ts=_ts(params.get("wallTime")),
                       post_body_size=_post_size(request))
            if row["ts"] is None:
                quarantine.add(event, "request without wallTime", doc["visit_id"])
                continue
            current[request_id] = row
            rows.append(row)
        elif method == "Network.responseReceived" and request_id in current:
            _apply_response(current[request_id], params.get("response") or {})
            current[request_id]["resource_type"] = current[request_id]["resource_type"] or params.get("type")
        elif method == "Network.loadingFailed" and request_id in current:
            current[request_id].update(failed=True, error_text=params.get("errorText"))
    return rows


def har_initiator(entry: dict) -> tuple[str | None, str | None]:
    """(type, url) of a HAR entry's initiator, whatever the exporter wrote.

    Chrome DevTools: ``_initiator`` object ``{type, url, stack}``; chrome-har / puppeteer-har:
    ``_initiator`` the URL string, ``_initiator_type`` and ``_initiator_detail`` (JSON text);
    Firefox, Playwright, BrowserMob: none."""
    initiator = entry.get("_initiator")
    kind = entry.get("_initiator_type")
    detail = entry.get("_initiator_detail")
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            detail = None
    if not isinstance(initiator, dict):
        initiator = {"url": initiator} if isinstance(initiator, str) and initiator else (
            detail if isinstance(detail, dict) else {})
    stack = initiator.get("stack") if isinstance(initiator.get("stack"), dict) else {}
    stack_url = next((f.get("url") for f in stack.get("callFrames") or [] if isinstance(f, dict) and f.get("url")), None)
    url = initiator.get("url") if isinstance(initiator.get("url"), str) else None
    kind = initiator.get("type") or kind or (detail.get("type") if isinstance(detail, dict) else None)
    return (str(kind) if kind else None), (url or stack_url)


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def requests_from_har(doc: dict, quarantine: Quarantine) -> list[dict]:
    """One row per HAR entry. Redirect hops that share a ``_requestId`` (chrome-har) get ``#n``
    suffixes in time order, as the crawl path does; pages merged into one visit prefix ids."""
    site = _site_domain(doc)
    rows = []
    hops: dict[str, int] = {}
    for index, entry in enumerate(doc.get("har_entries") or []):
        request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
        response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
        url = str(request.get("url") or "")
        if not url.startswith(CAPTURED_SCHEMES):
            continue
        try:
            ts = _ts(entry["startedDateTime"])
            if ts is None:
                raise ValueError("empty")
        except (KeyError, ValueError, TypeError) as exc:
            quarantine.add(entry, f"HAR entry without a valid startedDateTime: {exc}", doc["visit_id"])
            continue
        base = str(entry.get("_requestId") or entry.get("_request_id") or f"har-{index}")
        page = entry.get("_trackscope_page") or 0
        base = f"p{page}:{base}" if page else base
        hops[base] = hops.get(base, -1) + 1
        row = _request_row(doc, f"{base}#{hops[base]}" if hops[base] else base, url, site)
        initiator_type, initiator_url = har_initiator(entry)
        post = request.get("postData") if isinstance(request.get("postData"), dict) else {}
        content = response.get("content") if isinstance(response.get("content"), dict) else {}
        status = _int_or_none(response.get("status"))
        error = response.get("_error") or response.get("_failureText") or entry.get("_error")
        row.update(method=request.get("method"), resource_type=entry.get("_resourceType") or entry.get("_resource_type"),
                   initiator_type=initiator_type, initiator_url=initiator_url, ts=ts,
                   frame_id=entry.get("_frameref") or entry.get("__frameId") or None,
                   status=status if status else None, remote_ip=entry.get("serverIPAddress") or None,
                   mime_type=content.get("mimeType") or None,
                   post_body_size=len(str(post.get("text") or "").encode()) or max(_int_or_none(request.get("bodySize")) or 0, 0),
                   failed=not status, error_text=error or (None if status else "no response"))
        rows.append(row)
    return rows


def visit_row(doc: dict, request_count: int) -> dict:
    return {
        "visit_id": doc["visit_id"], "domain": doc["domain"], "rank": doc.get("rank"),
        "group": doc.get("group"), "start_url": doc.get("start_url"), "final_url": doc.get("final_url"),
        "redirect_chain": list(doc.get("redirect_chain") or []), "title": doc.get("title"),
        "html_size": doc.get("html_size"), "html_sha256": doc.get("html_sha256"),
        "outcome": doc.get("outcome"), "error_message": doc.get("error_message"),
        "started_at": _ts(doc.get("started_at")), "ended_at": _ts(doc.get("ended_at")),
        "duration_s": doc.get("duration_s"), "retries": int(doc.get("retries") or 0),
        "partial": bool(doc.get("partial")), "request_count": request_count,
        "source": doc.get("source", "crawler"),
    }


def history_rows(doc: dict) -> list[dict]:
    return [{
        "visit_id": doc["visit_id"], "domain": doc["domain"], "attempt": number, "url": attempt.get("url"),
        "outcome": attempt.get("outcome"), "error_message": attempt.get("error_message"),
        "started_at": _ts(attempt.get("started_at")), "duration_s": attempt.get("duration_s"),
        "browser_id": attempt.get("browser_id"),
    } for number, attempt in enumerate(doc.get("attempts") or [], start=1)]


def page_row(doc: dict) -> dict:
    policy = doc.get("policy") or {}
    return {
        "visit_id": doc["visit_id"], "domain": doc["domain"], "html": doc.get("html"),
        "policy_url": policy.get("url"), "policy_link_text": policy.get("link_text"),
        "policy_outcome": policy.get("outcome"), "policy_text": policy.get("text"),
        "meta_description": doc.get("meta_description"), "meta_keywords": doc.get("meta_keywords"),
        "js_globals": [str(g) for g in doc.get("js_globals") or []],
        "dialogs": [f"{d.get('type')}: {str(d.get('message') or '')[:200]}" for d in doc.get("dialogs") or []
                    if isinstance(d, dict)],
    }


REQUIRED_FIELDS = ("visit_id", "domain", "outcome")


EXTRACTED = (schemas.SITE_VISITS, schemas.REQUESTS, schemas.CRAWL_HISTORY, schemas.PAGES)


def extract(lake: Lake, crawl_id: str, docs: Iterable[dict]) -> dict:
    """Normalise every raw document of a crawl and replace the crawl's partitions."""
    quarantine = Quarantine("extract")
    visits, requests, history, pages = [], [], [], []
    for doc in docs:
        missing = [f for f in REQUIRED_FIELDS if not doc.get(f)]
        if missing or doc.get("outcome") not in schemas.OUTCOMES:
            quarantine.add({k: doc.get(k) for k in ("visit_id", "domain", "outcome")},
                           f"raw visit unusable: missing {missing}" if missing else f"unknown outcome {doc.get('outcome')!r}",
                           doc.get("domain", "?"))
            continue
        rows = requests_from_har(doc, quarantine) if "har_entries" in doc else requests_from_cdp(doc, quarantine)
        requests.extend(rows)
        visits.append(visit_row(doc, len(rows)))
        history.extend(history_rows(doc))
        pages.append(page_row(doc))
    counts = {}
    for spec, rows in zip(EXTRACTED, (visits, requests, history, pages)):
        frame = pd.DataFrame(rows, columns=spec.schema.names)
        counts[spec.name] = lake.stage_partition(spec, crawl_id, frame)  # published by check_extraction
    counts["quarantined"] = quarantine.write(lake, "survey_raw", schemas.KEY, crawl_id)
    log.info("extracted crawl %s: %s", crawl_id, counts)
    return counts
