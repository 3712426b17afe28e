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
            with self.lock:
                keys = list(self.waits)
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
    def __init__(self, engine, models: ModelSource, geo_paths: tuple, workers: int, lease_s: float, batch: int = 64,
                 gather_s: float = 0.01):
        self.engine, self.models, self.geo_paths, self.geo = engine, models, geo_paths, None
        self.workers, self.lease_s, self.batch, self.gather_s = workers, lease_s, batch, gather_s
        self.wake, self.stop_event = threading.Event(), threading.Event()
        self.threads: list[threading.Thread] = []
        self.processed = 0
        self.waiters = ResultWaiters(engine, stop_event=self.stop_event)

    def start(self) -> None:
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

    def _loop(self) -> None:
        worker = f"{uuid.uuid4().hex[:12]}"
        while not self.stop_event.is_set():
            try:
                claimed = db.claim(self.engine, worker, self.batch, self.lease_s)
                if claimed:
                    results = self.process(claimed)
                    written = db.finish(self.engine, worker, results)
                    self.processed += written
                    self.waiters.notify(results, written == len(results))
                    continue
            except Exception:  # noqa: BLE001 - keep serving; the lease returns the requests to the queue
                log.exception("worker %s failed a batch; its requests will be retried after the lease", worker)
            if self.wake.wait(0.2):
                # let concurrent requests gather: one batch and model call for many beats one each
                self.stop_event.wait(self.gather_s)
            self.wake.clear()

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
