"""Background workers: claim a batch of pending requests, estimate it with one model call,
write the results in one transaction and wake the GETs waiting for them.

The served model is the registry's promoted version, re-read when ``current.json`` changes
(checked every ``reload_s`` seconds), so a newly promoted model is used without a restart.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from datetime import datetime

from transforms.common.webapp import safe_traceback
from transforms.member_id.api import db

log = logging.getLogger(__name__)


class ModelSource:
    def __init__(self, lake_uri: str, reload_s: float):
        self.lake_uri, self.reload_s = lake_uri, reload_s
        self.version, self.estimator, self.checked = None, None, 0.0
        self.lock = threading.Lock()

    def current(self):
        """(version, estimator) of the promoted model; (None, None) before any promotion."""
        from transforms.common.lake import Lake
        from transforms.common.models import ModelRegistry
        from transforms.member_id.stages import MODEL_NAME

        with self.lock:
            if time.monotonic() - self.checked >= self.reload_s or self.estimator is None:
                self.checked = time.monotonic()
                registry = ModelRegistry(Lake(self.lake_uri), MODEL_NAME)
                version = registry.current_version()
                if version and version != self.version:
                    self.estimator, self.version = registry.load(version), version
                    log.info("serving member_id model %s", version)
            return self.version, self.estimator


class ResultWaiters:
    """Requests whose result a GET is waiting for in this process. Workers of this process hand
    them the written result row, so the GET answers without reading it back from SQL; results
    written by other API processes are found by one poller thread that reads the finished ones
    among all waited-for requests every ``poll_s`` (one query, however many GETs wait)."""

    def __init__(self, engine, poll_s: float = 0.05, stop_event: threading.Event | None = None):
        self.engine, self.poll_s = engine, poll_s
        self.stop_event = stop_event or threading.Event()
        self.lock = threading.Lock()
        self.waits: dict[str, list] = {}  # request key -> [Waiting]
        self.poller: threading.Thread | None = None

    @contextlib.contextmanager
    def waiting(self, request_key: str):
        entry = Waiting(asyncio.get_running_loop())
        with self.lock:
            if self.poller is None:
                self.poller = threading.Thread(target=self._poll, name="mid-result-poller", daemon=True)
                self.poller.start()
            self.waits.setdefault(request_key, []).append(entry)
        try:
            yield entry
        finally:
            with self.lock:
                entries = self.waits.get(request_key, [])
                entries.remove(entry)
                if not entries:
                    self.waits.pop(request_key, None)

    def notify(self, results: list[dict], written: bool) -> None:
        """Wake the GETs waiting for ``results``; with ``written`` they get the rows themselves,
        otherwise (some result was not written: re-claimed meanwhile) they re-read SQL."""
        with self.lock:
            woken = [(entry, r) for r in results for entry in self.waits.get(r["key"], ())]
        for entry, row in woken:
            entry.loop.call_soon_threadsafe(entry.deliver, row if written else None)

    def _poll(self, chunk: int = 500) -> None:
        while not self.stop_event.wait(self.poll_s):
            with self.lock:  # not those already handed their row (a batch GET waits on until its last one)
                keys = [k for k, entries in self.waits.items() if any(e.row is None for e in entries)]
            try:
                for start in range(0, len(keys), chunk):
                    finished = db.fetch_finished(self.engine, keys[start:start + chunk])
                    if finished:
                        self.notify(finished, written=True)
            except Exception:  # noqa: BLE001 - keep polling; waiting GETs still time out normally
                log.exception("result poller failed; retrying")


class Waiting:
    """One waiting GET: its event loop, the event a worker sets and the result row it hands over."""

    def __init__(self, loop):
        self.loop, self.event, self.row = loop, asyncio.Event(), None

    def deliver(self, row) -> None:  # runs in the GET's event loop
        self.row = row
        self.event.set()


class WorkerPool:
    """Worker threads estimating claimed requests.

    Failures are isolated per request: when a batch's estimation raises, its requests are
    estimated one by one, so one poison request cannot hold back the others. A request that
    fails is given back for another attempt after ``retry_s`` × attempts; after ``max_attempts``
    attempts (also counting claims whose worker died mid-batch) it ends ``error`` with a reason.
    Logs name requests by key, never by their IP address or User-Agent; tracebacks are logged
    without the exception message (which may quote them).
    Every ``purge_every_s`` one worker erases the raw fields of requests finished more than
    ``retention_s`` ago (``db.purge_raw``).
    """

    def __init__(self, engine, models: ModelSource, geo_paths: tuple, workers: int, lease_s: float, batch: int = 64,
                 gather_s: float = 0.01, max_attempts: int = 3, retry_s: float = 1.0,
                 retention_s: float = 7 * 86400.0, purge_every_s: float = 3600.0):
        self.engine, self.models, self.geo_paths, self.geo = engine, models, geo_paths, None
        self.workers, self.lease_s, self.batch, self.gather_s = workers, lease_s, batch, gather_s
        self.max_attempts, self.retry_s = max(1, max_attempts), retry_s
        self.retention_s, self.purge_every_s, self.next_purge = retention_s, purge_every_s, 0.0
        self.wake, self.stop_event = threading.Event(), threading.Event()
        self.threads: list[threading.Thread] = []
        self.processed = 0
        self.lock = threading.Lock()
        self.waiters = ResultWaiters(engine, stop_event=self.stop_event)

    def start(self) -> None:
        with self.lock:
            if self.threads or self.workers <= 0:
                return
            for n in range(self.workers):
                thread = threading.Thread(target=self._loop, name=f"mid-worker-{n}", daemon=True)
                thread.start()
                self.threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()
        for thread in self.threads:
            thread.join(timeout=10)
        self.threads = []

    def _prepare(self) -> None:
        """Load the model and open the GeoIP files before claiming anything: done inside a claim,
        a slow first load (seconds on a busy machine) could outlast the lease, and every lease
        that runs out costs the claimed requests an attempt."""
        from transforms.member_id.geo import GeoLookup

        try:
            self.models.current()
            with self.lock:
                if self.geo is None:
                    self.geo = GeoLookup(*self.geo_paths)
        except Exception as exc:  # noqa: BLE001 - process() fails per request and says why
            log.error("worker could not load the model or GeoIP files (%s)", type(exc).__name__)

    def _loop(self) -> None:
        worker = f"{uuid.uuid4().hex[:12]}"
        self._prepare()
        while not self.stop_event.is_set():
            try:
                self._maybe_purge()
                claimed = db.claim(self.engine, worker, self.batch, self.lease_s)
                if claimed:
                    self.handle(worker, claimed)
                    continue
            except Exception as exc:  # noqa: BLE001 - keep serving (e.g. database down); leases return the requests
                log.error("worker %s: claiming or writing failed (%s), retrying:\n%s", worker, type(exc).__name__,
                          safe_traceback(exc))
            if self.wake.wait(0.2):
                # let concurrent requests gather: one batch and model call for many beats one each
                self.stop_event.wait(self.gather_s)
            self.wake.clear()

    def _maybe_purge(self) -> None:
        if self.retention_s <= 0 or time.monotonic() < self.next_purge:
            return
        with self.lock:
            if time.monotonic() < self.next_purge:
                return
            self.next_purge = time.monotonic() + self.purge_every_s
        purged = db.purge_raw(self.engine, self.retention_s)
        if purged:
            log.info("purged the raw fields of %d requests finished over %.0f s ago", purged, self.retention_s)

    def handle(self, worker: str, claimed: list[dict]) -> None:
        """Estimate, write and hand over the results of ``claimed``; retry or fail the failures."""
        exhausted = [r for r in claimed if r["attempts"] > self.max_attempts]  # earlier claims died mid-batch
        results = [self._gave_up(r, r["attempts"] - 1, "its attempts never finished (worker killed or stuck)")
                   for r in exhausted]
        rest = [r for r in claimed if r["attempts"] <= self.max_attempts]
        done, failed = self.process_isolated(rest)
        results += done
        retry = []
        for r, exc in failed:
            if r["attempts"] >= self.max_attempts:
                results.append(self._gave_up(r, r["attempts"], f"the estimation failed ({type(exc).__name__})"))
            else:
                retry.append(r)
        try:
            written = db.finish(self.engine, worker, results)
        except Exception as exc:  # noqa: BLE001 - one result the store refuses must not sink the batch
            log.error("worker %s: writing %d results failed (%s); writing them one by one", worker, len(results),
                      type(exc).__name__)
            written, refused = 0, []
            for result in results:
                try:
                    written += db.finish(self.engine, worker, [result])
                except Exception as one:  # noqa: BLE001
                    log.error("request %s: its result could not be written (%s)", result["key"], type(one).__name__)
                    refused.append(result["key"])
            results = [r for r in results if r["key"] not in refused]
            retry += [r for r in claimed if r["key"] in refused]
        self.processed += written
        self.waiters.notify(results, written == len(results))
        for r in retry:  # back-off grows with the attempts made
            db.release(self.engine, worker, [r["key"]], self.retry_s * r["attempts"])
        if retry:
            self.wake.set()

    def _gave_up(self, row: dict, attempts: int, why: str) -> dict:
        log.warning("request %s ends in error after %d attempts: %s", row["key"], attempts, why)
        return {"key": row["key"], "status": "error", "error": f"gave up after {attempts} attempts: {why}"}

    def process_isolated(self, claimed: list[dict]) -> tuple[list[dict], list[tuple[dict, Exception]]]:
        """(results, [(request, exception)]): the batch in one call; if it raises, one call per request."""
        if not claimed:
            return [], []
        try:
            return self.process(claimed), []
        except Exception as exc:  # noqa: BLE001
            if len(claimed) > 1:
                log.warning("a batch of %d failed (%s); estimating its requests one by one", len(claimed),
                            type(exc).__name__)
            else:
                self._log_failure(claimed[0], exc)
                return [], [(claimed[0], exc)]
        results, failed = [], []
        for row in claimed:
            try:
                results += self.process([row])
            except Exception as exc:  # noqa: BLE001
                self._log_failure(row, exc)
                failed.append((row, exc))
        return results, failed

    def _log_failure(self, row: dict, exc: Exception) -> None:
        log.warning("request %s failed attempt %d of %d (%s):\n%s", row["key"], row["attempts"], self.max_attempts,
                    type(exc).__name__, safe_traceback(exc))

    def process(self, claimed: list[dict]) -> list[dict]:
        from transforms.member_id.enrich import enrich_columns
        from transforms.member_id.geo import GeoLookup

        if self.geo is None:  # opened on first use: the plugin must import even before GeoIP files exist
            self.geo = GeoLookup(*self.geo_paths)
        started = time.perf_counter()
        version, estimator = self.models.current()
        if estimator is None:
            return [{"key": r["key"], "status": "error", "error": "no promoted model yet"} for r in claimed]
        if not hasattr(estimator, "encoder"):  # pickled before the numpy query path: needs one retraining run
            return [{"key": r["key"], "status": "error", "error": f"model {version} is too old to serve: retrain"}
                    for r in claimed]
        columns = enrich_columns([datetime.fromisoformat(r["access_time"]) for r in claimed],
                                 [r["ip"] for r in claimed], [r["user_agent"] for r in claimed], self.geo)
        results = []
        for r, est in zip(claimed, estimator.estimate(columns)):
            results.append({"key": r["key"], "status": est.status, "member_id": est.member_id if est.status == "success" else None,
                            "likelihood": est.likelihood if est.status == "success" else None,
                            "error": est.reason or None, "model_version": version})
        log.info("estimated %d requests with model %s in %.0f ms", len(results), version,
                 (time.perf_counter() - started) * 1000)  # counts only: no addresses or User-Agents
        return results
