"""Versioned model artifacts in the lake and the promotion gate.

``models/<name>/<version>/model.pkl`` holds the object, ``meta.json`` its parameters, data window
and metrics; ``models/<name>/current.json`` names the promoted version and ``history.jsonl``
every gate decision. A retrained model becomes current only through :meth:`ModelRegistry.gate`.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

import joblib

from transforms.common.lake import Lake

log = logging.getLogger(__name__)


@dataclass
class GateDecision:
    promoted: bool
    candidate: str
    current: Optional[str]
    metric: str
    candidate_value: float
    current_value: Optional[float]
    reason: str


class ModelRegistry:
    def __init__(self, lake: Lake, name: str):
        self.lake, self.name = lake, name
        self.base = f"models/{name}"

    def save(self, model: Any, params: dict, data_window: dict, metrics: dict) -> str:
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        blob = buffer.getvalue()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        version = f"v{stamp}-{hashlib.sha256(blob).hexdigest()[:8]}"
        self.lake.write_bytes(f"{self.base}/{version}/model.pkl", blob)
        self.lake.write_json(f"{self.base}/{version}/meta.json", {
            "name": self.name, "version": version, "created_at": stamp, "params": params,
            "data_window": data_window, "metrics": metrics})
        log.info("saved model %s %s metrics=%s window=%s", self.name, version, metrics, data_window)
        return version

    def meta(self, version: str) -> dict:
        return self.lake.read_json(f"{self.base}/{version}/meta.json")

    def versions(self) -> list[str]:
        full = self.lake.path(self.base)
        if not self.lake.exists(full):
            return []
        import pyarrow.fs as pafs

        infos = self.lake.fs.get_file_info(pafs.FileSelector(full))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory and i.base_name.startswith("v"))

    def current_version(self) -> Optional[str]:
        path = f"{self.base}/current.json"
        return self.lake.read_json(path)["version"] if self.lake.exists(self.lake.path(path)) else None

    def load(self, version: Optional[str] = None):
        version = version or self.current_version()
        if version is None:
            raise LookupError(f"no promoted {self.name} model yet")
        return joblib.load(io.BytesIO(self.lake.read_bytes(f"{self.base}/{version}/model.pkl")))

    def promote(self, version: str, reason: str) -> None:
        self.lake.write_json(f"{self.base}/current.json", {
            "version": version, "promoted_at": datetime.now(timezone.utc).isoformat(), "reason": reason})

    def gate(self, candidate: str, metric: str, higher_is_better: bool = True, tolerance: float = 0.0,
             current_value: float | None = None) -> GateDecision:
        """Promote ``candidate`` unless its ``metric`` is worse than the current model's by more
        than ``tolerance`` (absolute). The first model is promoted. Every decision is logged.
        ``current_value``: the current model re-measured on the candidate's held-out data, when
        the caller did that (default: the figure stored with the current model)."""
        current = self.current_version()
        value = float(self.meta(candidate)["metrics"][metric])
        if current is None:
            decision = GateDecision(True, candidate, None, metric, value, None, "no current model")
        else:
            if current_value is None:
                current_value = float(self.meta(current)["metrics"][metric])
            margin = (value - current_value) if higher_is_better else (current_value - value)
            promoted = margin >= -tolerance
            verdict = "not worse than" if promoted else "worse than"
            decision = GateDecision(promoted, candidate, current, metric, value, current_value,
                                    f"{metric} {value:.4f} {verdict} current {current_value:.4f} "
                                    f"(tolerance {tolerance})")
        if decision.promoted:
            self.promote(candidate, decision.reason)
        history = self.lake.path(f"{self.base}/history.jsonl")
        previous = self.lake.read_bytes(f"{self.base}/history.jsonl") if self.lake.exists(history) else b""
        entry = json.dumps({**decision.__dict__, "at": datetime.now(timezone.utc).isoformat()}) + "\n"
        self.lake.write_bytes(f"{self.base}/history.jsonl", previous + entry.encode())
        (log.info if decision.promoted else log.warning)("gate %s: %s -> %s", self.name, decision.reason,
                                                          "promoted" if decision.promoted else "refused")
        return decision
