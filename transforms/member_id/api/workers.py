"""Background workers: claim pending requests in batches, estimate, write results.

The served model is the registry's promoted version, re-read when ``current.json`` changes
(checked every ``reload_s`` seconds), so a newly promoted model is used without a restart.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

import pandas as pd

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


class WorkerPool:
    def __init__(self, engine, models: ModelSource, geo_paths: tuple, workers: int, lease_s: float, batch: int = 64):
        self.engine, self.models, self.geo_paths, self.geo = engine, models, geo_paths, None
        self.workers, self.lease_s, self.batch = workers, lease_s, batch
        self.wake, self.stop_event = threading.Event(), threading.Event()
        self.threads: list[threading.Thread] = []
        self.processed = 0

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
                    self.processed += db.finish(self.engine, worker, self.process(claimed))
                    continue
            except Exception:  # noqa: BLE001 - keep serving; the lease returns the requests to the queue
                log.exception("worker %s failed a batch; its requests will be retried after the lease", worker)
            self.wake.wait(0.2)
            self.wake.clear()

    def process(self, claimed: list[dict]) -> list[dict]:
        from transforms.member_id.enrich import enrich
        from transforms.member_id.geo import GeoLookup

        if self.geo is None:  # opened on first use: the plugin must import even before GeoIP files exist
            self.geo = GeoLookup(*self.geo_paths)
        version, estimator = self.models.current()
        if estimator is None:
            return [{"key": r["key"], "status": "error", "error": "no promoted model yet"} for r in claimed]
        frame = pd.DataFrame({"member_id": "", "ts": pd.to_datetime([r["access_time"] for r in claimed], utc=True),
                              "ip": [r["ip"] for r in claimed], "user_agent": [r["user_agent"] for r in claimed]})
        results = []
        for r, est in zip(claimed, estimator.estimate(enrich(frame, self.geo))):
            results.append({"key": r["key"], "status": est.status, "member_id": est.member_id if est.status == "success" else None,
                            "likelihood": est.likelihood if est.status == "success" else None,
                            "error": est.reason or None, "model_version": version})
        log.info("estimated %d requests with model %s", len(results), version)  # keys and counts only
        return results
