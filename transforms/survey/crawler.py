"""Crawl a batch of sites with headless Chromium and write one raw document per site.

:func:`crawl_batch` is the entry point. Output contract: :mod:`transforms.survey.raw`.

* Resumable: domains already written for the crawl id (``raw.done_domains``) are skipped, and
  each site's document is written atomically as soon as that site is finished, so a crawl killed
  midway keeps its finished sites and a rerun visits only the rest.
* ``settings.browsers_per_task`` worker threads, each owning one Chrome (via ChromeDriver), pull
  sites from a shared queue.
* Requests are captured from the ChromeDriver performance log (``Network.*`` messages). The log
  is drained before each page load, so a site's ``events`` hold only that site's traffic (the
  privacy-policy page load is not part of them).
* Robustness: page loads use ``page_load_timeout_s``; every WebDriver call additionally has an
  HTTP command timeout and a per-worker watchdog that kills the browser's process tree
  (chromedriver + chrome) if a call overruns (e.g. a renderer stuck in an infinite JS loop).
  After a timeout or a crash the worker starts a FRESH browser for the next site.
* Per site the candidate URLs ``https://d/``, ``https://www.d/``, ``http://d/`` are tried in turn
  (fallback on dns / refused / tls / other errors; a timeout or crash ends the visit). Every
  load is recorded in ``attempts``. A visit ending in ``crash`` is retried with a fresh browser
  up to ``settings.visit_retries`` times. ``retries`` counts those crash re-tries only (fallback
  URLs are attempts, not retries).
* Outcome of a failed visit: the outcome of the first attempt (``https://d/``), except that a
  generic ``error`` there is replaced by the first more specific outcome of a later attempt.
  Network errors that make Chrome show its error page without WebDriver failing (e.g.
  ERR_EMPTY_RESPONSE) are detected from a failed main-frame document in the events.
* If Chrome/ChromeDriver cannot start (twice in a row), no document is written for the site
  and :class:`BrowserStartError` is raised at the end of the batch (infrastructure failure, not
  a site outcome; the unvisited sites are picked up by a rerun).
* Besides the fields of :mod:`raw`, documents carry ``anchors`` ([[href, text], ...]).
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import queue
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Optional
from urllib.parse import urlsplit

from transforms.survey import policy_fetch, raw
from transforms.survey.policy import find_policy_link
from transforms.survey.browser import BrowserStartError, Worker, chromium_args, short_error

log = logging.getLogger(__name__)

HTML_CAP = 2 * 1024 * 1024
POLICY_TEXT_CAP = 500 * 1024
FALLBACK_OUTCOMES = {"dns", "refused", "tls", "error"}

_META_JS = """
const pick = n => { const m = document.querySelector('meta[name="' + n + '" i]');
                    return m ? m.getAttribute('content') : null; };
return [pick('description'), pick('keywords'),
        [...document.querySelectorAll('a[href]')].map(a => [a.href, (a.innerText || '').trim()])];
"""
_BODY_TEXT_JS = "return document.body ? document.body.innerText : '';"
# which of the signatures' globals the page defines after the dwell, and the dialogs it opened
_GLOBALS_JS = """
const names = arguments[0], found = [];
for (const name of names) {
  try { let v = window; for (const part of name.split('.')) { v = v[part]; if (v === undefined || v === null) break; }
        if (v !== undefined && v !== null) found.push(name); } catch (e) {}
}
return [found, (window.__trackscopeDialogs || []).slice(0, 50)];
"""


@functools.lru_cache(maxsize=8)
def signature_globals(path: str) -> tuple[str, ...]:
    """Globals of a signature file; none (no global evidence, the crawl goes on) if unreadable."""
    from transforms.survey.detect import load_signatures

    try:
        return tuple(load_signatures(path).all_globals)
    except Exception:  # noqa: BLE001
        log.warning("signature globals unavailable from %s", path, exc_info=True)
        return ()


def dialogs_from_events(events: list[dict]) -> list[dict]:
    """Dialogs ChromeDriver dismissed (the shim did not answer them), from the performance log."""
    return [{"type": e["params"].get("type"), "message": str(e["params"].get("message") or "")[:500],
             "url": e["params"].get("url"), "handled_by": "chromedriver"}
            for e in events if e.get("method") == "Page.javascriptDialogOpening"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- error classification ----------------------------------------------------------------------
def classify_error(exc: BaseException, url: str = "", killed: bool = False) -> str:
    """Outcome for a failed WebDriver call (see module docstring)."""
    if killed:
        return "timeout"
    name = type(exc).__name__
    text = f"{name}: {exc}"
    if name == "TimeoutException" or "timeout: Timed out receiving message" in text:
        return "timeout"
    if name in {"ReadTimeoutError", "ReadTimeout", "TimeoutError", "socket.timeout"} or "Read timed out" in text:
        return "timeout"  # HTTP command timeout: the browser is hung
    if "ERR_NAME_NOT_RESOLVED" in text:
        return "dns"
    if "ERR_CONNECTION_REFUSED" in text:
        return "refused"
    if "ERR_SSL" in text or "ERR_CERT" in text:
        return "tls"
    if url.startswith("https:") and ("ERR_CONNECTION_CLOSED" in text or "ERR_CONNECTION_RESET" in text):
        return "tls"
    lowered = text.lower()
    crash_markers = ("tab crashed", "session deleted", "chrome not reachable", "disconnected",
                     "no such window", "invalid session id", "not connected to devtools",
                     "connection refused", "max retries exceeded", "remotedisconnected",
                     "connection aborted", "connection reset by peer", "protocolerror",
                     "newconnectionerror", "target window already closed", "renderer")
    if name in {"InvalidSessionIdException", "NoSuchWindowException", "MaxRetryError",
                "ProtocolError", "NewConnectionError", "ConnectionRefusedError",
                "ConnectionResetError", "RemoteDisconnected"} or any(m in lowered for m in crash_markers):
        return "crash"
    return "error"


def candidate_urls(domain: str) -> list[str]:
    urls = [f"https://{domain}/"]
    if not domain.startswith("www."):
        urls.append(f"https://www.{domain}/")
    urls.append(f"http://{domain}/")
    return urls


def redirect_chain(events: list[dict], start_url: str, final_url: Optional[str]) -> list[str]:
    """Main-frame document URLs in order (HTTP redirects and later main-frame navigations)."""
    main_frame = None
    chain: list[str] = []
    for event in events:
        if event["method"] != "Network.requestWillBeSent":
            continue
        params = event["params"]
        if params.get("type") != "Document":
            continue
        if main_frame is None:
            main_frame = params.get("frameId")
        if params.get("frameId") != main_frame:
            continue
        url = (params.get("request") or {}).get("url")
        if url and (not chain or chain[-1] != url):
            chain.append(url)
    if not chain:
        chain = [start_url]
    if final_url and final_url != chain[-1] and final_url.startswith("http"):
        chain.append(final_url)
    return chain


def _origin(url: str) -> Optional[str]:
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


class SiteVisit:
    def __init__(self, worker: Worker, settings, crawl_id: str, site: dict):
        self.w = worker
        self.s = settings
        self.crawl_id = crawl_id
        self.site = site
        self.domain = site["domain"]
        self._events: list[dict] = []

    def run(self) -> dict:
        s, domain = self.s, self.domain
        started, t0 = _now(), time.monotonic()
        doc = {
            "crawl_id": self.crawl_id, "domain": domain, "rank": self.site.get("rank"),
            "group": self.site.get("group"), "visit_id": f"{self.crawl_id}:{domain}",
            "outcome": None, "error_message": None, "retries": 0, "partial": False,
            "started_at": started, "ended_at": None, "duration_s": None,
            "start_url": None, "final_url": None, "redirect_chain": [], "title": None,
            "html": None, "html_size": None, "html_sha256": None,
            "meta_description": None, "meta_keywords": None, "anchors": [],
            "attempts": [], "events": [], "policy": None, "js_globals": [], "dialogs": [],
        }
        while True:
            done = self._try_candidates(doc)
            if done or doc["outcome"] != "crash" or doc["retries"] >= s.visit_retries:
                break
            doc["retries"] += 1
            log.info("%s: crash, retrying with a fresh browser (%d/%d)", domain, doc["retries"], s.visit_retries)
            self.w.drop_browser(graceful=False)
        doc["ended_at"] = _now()
        doc["duration_s"] = round(time.monotonic() - t0, 3)
        doc["dialogs"] = doc["dialogs"] + dialogs_from_events(doc["events"])
        doc["events"] = [e for e in doc["events"] if str(e.get("method", "")).startswith("Network.")]
        # Next site starts from a fresh context; after a timeout/crash from a fresh browser.
        if doc["outcome"] in ("timeout", "crash") or (doc["policy"] or {}).get("outcome") in ("timeout", "crash"):
            self.w.drop_browser(graceful=False)
        else:
            try:
                origins = {o for o in (_origin(u) for u in doc["redirect_chain"] + [doc["final_url"] or ""]) if o}
                self.w.reset_context(sorted(origins))
            except Exception as exc:  # noqa: BLE001
                log.info("%s: context reset failed (%s); new browser", domain, short_error(exc))
                self.w.drop_browser()
        return doc

    def s_globals(self) -> list[str]:
        return signature_globals(self.s.signatures_file)

    def _load(self, url: str, attempt: dict) -> Optional[BaseException]:
        """Load ``url`` after draining the log; None on success, else the exception."""
        browser = self.w.ensure_browser()  # BrowserStartError propagates: not a site outcome
        attempt["browser_id"] = browser.id
        try:
            with self.w.guard(self.s.page_load_timeout_s + 10):
                self.w.drain_log()
                browser.driver.get(url)
            return None
        except Exception as exc:  # noqa: BLE001
            return exc

    def _try_candidates(self, doc: dict) -> bool:
        """One round over the candidate URLs. True when a page loaded (doc filled)."""
        first_outcome = None
        round_outcomes = []
        skip_http_same_host = False
        for url in candidate_urls(self.domain):
            if skip_http_same_host and url == f"http://{self.domain}/":
                continue
            attempt = {"url": url, "outcome": None, "error_message": None, "started_at": _now(),
                       "duration_s": None, "browser_id": None}
            doc["attempts"].append(attempt)
            t0 = time.monotonic()
            exc = self._load(url, attempt)
            if exc is None:
                exc = self._error_page()  # Chrome shows an error page without WebDriver failing
            killed = bool(self.w.browser and self.w.browser.killed)
            if exc is None:
                attempt["outcome"] = "ok"
                attempt["duration_s"] = round(time.monotonic() - t0, 3)
                doc["start_url"] = url
                self._capture(doc)
                return True
            outcome = classify_error(exc, url, killed)
            attempt["outcome"] = outcome
            attempt["error_message"] = ("watchdog killed the hung browser; " if killed else "") + short_error(exc)
            attempt["duration_s"] = round(time.monotonic() - t0, 3)
            round_outcomes.append(outcome)
            if first_outcome is None:
                first_outcome = outcome
                doc["error_message"] = attempt["error_message"]
                if outcome == "dns":
                    skip_http_same_host = True
            if outcome in ("timeout", "crash"):
                doc["start_url"] = url
                doc["events"] = self.w.try_salvage_events()
                doc["partial"] = True
                doc["outcome"] = outcome
                doc["error_message"] = attempt["error_message"]
                if outcome == "crash":
                    self.w.drop_browser(graceful=False)
                return False
        outcome = first_outcome
        if outcome == "error":
            outcome = next((o for o in round_outcomes if o != "error"), "error")
        doc["outcome"] = outcome
        return False

    def _error_page(self) -> Optional[BaseException]:
        """Some network errors (e.g. ERR_EMPTY_RESPONSE) load Chrome's error page and
        ``driver.get`` succeeds: detect a failed main-frame document in the events."""
        try:
            with self.w.guard(10):
                self._events = self.w.drain_log()
        except Exception as exc:  # noqa: BLE001
            return exc
        main_frame, last_doc = None, None
        failed = {}
        for event in self._events:
            params = event["params"]
            if event["method"] == "Network.requestWillBeSent" and params.get("type") == "Document":
                main_frame = main_frame or params.get("frameId")
                if params.get("frameId") == main_frame:
                    last_doc = params.get("requestId")
            elif event["method"] == "Network.loadingFailed":
                failed[params.get("requestId")] = params
        info = failed.get(last_doc) if last_doc else None
        if info and not info.get("canceled") and "ERR_ABORTED" not in str(info.get("errorText")):
            return RuntimeError(f"main document failed: {info.get('errorText')}")
        return None

    def _capture(self, doc: dict) -> None:
        s, w = self.s, self.w
        time.sleep(s.dwell_s)
        doc["outcome"] = "ok"
        doc["error_message"] = None
        try:
            with w.guard(30):
                driver = w.driver
                doc["events"] = self._events + w.drain_log()
                doc["final_url"] = driver.current_url
                doc["title"] = driver.title
                source = driver.page_source or ""
                encoded = source.encode("utf-8", "surrogatepass")
                doc["html_size"] = len(encoded)
                doc["html_sha256"] = hashlib.sha256(encoded).hexdigest()
                doc["html"] = encoded[:HTML_CAP].decode("utf-8", "ignore")
                description, keywords, anchors = driver.execute_script(_META_JS)
                doc["meta_description"], doc["meta_keywords"] = description, keywords
                doc["anchors"] = [[str(h), str(t)] for h, t in (anchors or [])]
                found, dialogs = driver.execute_script(_GLOBALS_JS, list(self.s_globals()))
                doc["js_globals"] = [str(g) for g in found or []]
                doc["dialogs"] = [{"type": str(t), "message": str(m)[:500], "url": doc["final_url"],
                                   "handled_by": "shim"} for t, m in dialogs or []]
        except Exception as exc:  # noqa: BLE001 - page hung/crashed after load
            killed = bool(w.browser and w.browser.killed)
            outcome = classify_error(exc, doc["start_url"] or "", killed)
            doc["outcome"] = outcome if outcome in ("timeout", "crash") else "error"
            doc["error_message"] = ("watchdog killed the hung browser after load; " if killed else "") + short_error(exc)
            doc["partial"] = True
            doc["attempts"][-1]["outcome"] = doc["outcome"]
            doc["attempts"][-1]["error_message"] = doc["error_message"]
            if not doc["events"]:
                doc["events"] = self._events + w.try_salvage_events()
            if doc["outcome"] == "crash":
                w.drop_browser(graceful=False)
            return
        doc["redirect_chain"] = redirect_chain(doc["events"], doc["start_url"], doc["final_url"])
        self._policy(doc)

    def _policy(self, doc: dict) -> None:
        found = find_policy_link([tuple(a) for a in doc["anchors"]], doc["final_url"] or doc["start_url"])
        if not found:
            doc["policy"] = None
            return
        url, text = found
        policy = {"url": url, "link_text": text, "outcome": None, "text": None, "error_message": None,
                  "format": None, "pages": []}
        doc["policy"] = policy
        w = self.w
        try:
            with w.guard(self.s.page_load_timeout_s + 10):
                w.drain_log()  # policy requests are not part of the site's events
                w.driver.get(url)
            with w.guard(40):
                fields, anchors = policy_fetch.read_page(w.driver)  # collapsed sections expanded; PDF read
                policy.update(fields, outcome="ok")
                w.drain_log()
            policy["pages"] = policy_fetch.read_linked_pages(w, anchors, url, self.s.page_load_timeout_s,
                                                             classify_error, short_error)
        except Exception as exc:  # noqa: BLE001
            killed = bool(w.browser and w.browser.killed)
            policy["outcome"] = classify_error(exc, url, killed)
            policy["error_message"] = short_error(exc)
            if policy["outcome"] == "timeout" and not killed:
                try:  # keep what rendered so far
                    with w.guard(4, margin=2):
                        policy["text"] = (w.driver.execute_script(_BODY_TEXT_JS) or "")[:POLICY_TEXT_CAP]
                except Exception:  # noqa: BLE001
                    pass


# -- the batch ------------------------------------------------------------------------------------
def crawl_batch(settings, crawl_id: str, sites: list[dict], *, extra_chromium_args=(),
                progress: Optional[Callable[[dict], None]] = None, stats: Optional[dict] = None) -> dict:
    """Visit ``sites`` (``[{"rank", "domain", "group"}]``), writing one raw doc per site.

    Returns ``{"visited", "skipped_done", "by_outcome", "seconds", "sites_per_hour"}``.
    ``progress`` (optional) is called with a dict after each site. ``stats`` (optional dict) turns
    on memory sampling and is filled with ``peak_rss_bytes`` / ``peak_pss_bytes`` (sum over
    browsers of each one's peak chromedriver+chromium process-tree RSS / PSS) and ``browsers``.
    """
    t0 = time.monotonic()
    lake = settings.lake
    done = raw.done_domains(lake, crawl_id)
    seen: set[str] = set()
    todo = []
    for site in sites:
        d = site["domain"]
        if d in done or d in seen:
            continue
        seen.add(d)
        todo.append(site)
    skipped = sum(1 for s in sites if s["domain"] in done)
    counts = {"visited": 0, "skipped_done": skipped, "by_outcome": {}, "seconds": 0.0, "sites_per_hour": 0.0}
    if not todo:
        log.info("crawl %s: nothing to do (%d already done)", crawl_id, skipped)
        return counts
    args = chromium_args(settings, extra_chromium_args)
    n_workers = max(1, min(int(settings.browsers_per_task), len(todo)))
    work: "queue.Queue[dict]" = queue.Queue()
    for site in todo:
        work.put(site)
    workers = [Worker(settings, args, i) for i in range(n_workers)]
    lock = threading.Lock()
    stop = threading.Event()
    start_errors: list[str] = []
    total = len(todo)
    log.info("crawl %s: %d sites to visit (%d already done), %d browsers", crawl_id, total, skipped, n_workers)

    def watchdog():
        for tick in itertools.count():
            if stop.wait(0.5):
                return
            for w in workers:
                w.check_deadline()
            if stats is not None:  # memory figures only when asked for (bench)
                for w in workers:
                    w.sample_memory(pss=tick % 4 == 0)

    def record(doc: dict) -> None:
        raw.write_visit(lake, doc)
        with lock:
            counts["visited"] += 1
            by = counts["by_outcome"]
            by[doc["outcome"]] = by.get(doc["outcome"], 0) + 1
            n = counts["visited"]
            elapsed = time.monotonic() - t0
        log.info("%s %s %.1fs", doc["domain"], doc["outcome"], doc["duration_s"] or 0)
        if n % 10 == 0 or n == total:
            log.info("crawl %s: %d/%d sites, %.0f sites/hour", crawl_id, n, total, n / elapsed * 3600 if elapsed else 0)
        if progress is not None:
            try:
                progress({"domain": doc["domain"], "outcome": doc["outcome"], "duration_s": doc["duration_s"],
                          "done": n, "total": total})
            except Exception:  # noqa: BLE001
                log.exception("progress callback failed")

    def run_worker(w: Worker):
        try:
            while True:
                try:
                    site = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    doc = SiteVisit(w, settings, crawl_id, site).run()
                except BrowserStartError as exc:
                    # No document: the site is not done and a rerun visits it. Stop this worker.
                    log.error("worker %d: %s; stopping it", w.number, exc)
                    with lock:
                        start_errors.append(str(exc))
                    work.put(site)
                    return
                except Exception as exc:  # noqa: BLE001 - never lose the whole batch to one site
                    log.exception("%s: visit failed", site["domain"])
                    w.drop_browser(graceful=False)
                    now = _now()
                    doc = {"crawl_id": crawl_id, "domain": site["domain"], "rank": site.get("rank"),
                           "group": site.get("group"), "visit_id": f"{crawl_id}:{site['domain']}",
                           "outcome": classify_error(exc), "error_message": short_error(exc), "retries": 0,
                           "partial": True, "started_at": now, "ended_at": now, "duration_s": 0.0,
                           "start_url": None, "final_url": None, "redirect_chain": [], "title": None,
                           "html": None, "html_size": None, "html_sha256": None, "meta_description": None,
                           "meta_keywords": None, "anchors": [], "attempts": [], "events": [], "policy": None}
                record(doc)
        finally:
            w.drop_browser()

    guard_thread = threading.Thread(target=watchdog, name="crawl-watchdog", daemon=True)
    guard_thread.start()
    threads = [threading.Thread(target=run_worker, args=(w,), name=f"crawl-worker-{w.number}") for w in workers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop.set()
        guard_thread.join(timeout=5)
    seconds = time.monotonic() - t0
    counts["seconds"] = round(seconds, 2)
    counts["sites_per_hour"] = round(counts["visited"] / seconds * 3600, 1) if seconds else 0.0
    if stats is not None:
        stats["peak_rss_bytes"] = sum(w.peak_rss for w in workers)
        stats["peak_pss_bytes"] = sum(w.peak_pss for w in workers)
        stats["browsers"] = n_workers
    log.info("crawl %s: done %s", crawl_id, counts)
    if start_errors and not work.empty():
        raise BrowserStartError(f"crawl {crawl_id}: {work.qsize()} sites not visited; {start_errors[0]}")
    return counts
