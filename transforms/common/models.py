"""One model surface for every domain, versioned artifacts in the lake, and the promotion gate.

Every domain's model is a :class:`Model`: ``fit`` / ``predict`` / ``evaluate`` plus ``params``.
:class:`ModelRegistry` stores one artifact per version — ``models/<name>/<version>/model.pkl``
(every part of the model, no side files) and ``meta.json`` (parameters, data window, metrics,
signature) — and ``models/<name>/current.json`` names the promoted version, moved only by
:meth:`ModelRegistry.gate`, whose every decision is appended to ``history.jsonl``.

Artifacts are pickles, which run code when loaded, so each is signed at save time with an
HMAC-SHA256 under a key that does not live in the lake (``TRACKSCOPE_MODEL_SIGNING_KEY``, else
a key file under ``TRACKSCOPE_HOME/secrets``): whoever can write the lake but not read that key
cannot make :meth:`ModelRegistry.load` unpickle a file of their own.
"""
from __future__ import annotations

import abc
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Optional

import joblib
import pyarrow.fs as pafs

from transforms.common.lake import Lake

log = logging.getLogger(__name__)


class Model(abc.ABC):
    """What every trackscope model offers the pipelines, the registry and the gate."""

    name: ClassVar[str]  # registry name, e.g. "fp_linker"
    params: dict

    @abc.abstractmethod
    def fit(self, data) -> "Model":
        """Learn from ``data`` (the domain's training frame); returns self."""

    @abc.abstractmethod
    def predict(self, data):
        """The domain's answer for ``data`` (scores, labels, links, estimates)."""

    @abc.abstractmethod
    def evaluate(self, data) -> dict[str, float]:
        """Metrics on held-out ``data``; the gate compares these between models."""


class TamperedModel(RuntimeError):
    """A model file whose signature does not match: refused before it is unpickled."""


def signing_key(configured: str = "") -> bytes:
    """The HMAC key: ``configured``, else ``TRACKSCOPE_MODEL_SIGNING_KEY`` (set the same value on
    every worker of a distributed deployment), else a key file under ``TRACKSCOPE_HOME/secrets``
    created on first use (mode 0600)."""
    text = configured or os.environ.get("TRACKSCOPE_MODEL_SIGNING_KEY", "")
    if text:
        return text.encode()
    from transforms.common.settings import trackscope_home

    path = Path(trackscope_home()) / "secrets" / "model-signing.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


@dataclass(frozen=True)
class GateRule:
    """How a candidate is judged: ``metric`` must not be worse than the current model's (measured
    on the same held-out data) by more than ``tolerance``, and every floor must hold:
    ``floors={"linking_accuracy": 0.9}`` (higher is better) / ``ceilings={"false_merge_rate": 0.01}``."""

    metric: str
    higher_is_better: bool = True
    tolerance: float = 0.0
    floors: dict = field(default_factory=dict)
    ceilings: dict = field(default_factory=dict)


@dataclass
class GateDecision:
    promoted: bool
    candidate: str
    current: Optional[str]
    metric: str
    candidate_value: float
    current_value: Optional[float]
    reason: str
    candidate_metrics: dict = field(default_factory=dict)
    current_metrics: Optional[dict] = None
    failed_limits: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class ModelRegistry:
    def __init__(self, lake: Lake, name: str, key: str = ""):
        self.lake, self.name = lake, name
        self.base = f"models/{name}"
        self._configured_key = key

    def _sign(self, blob: bytes) -> str:
        return hmac.new(signing_key(self._configured_key), blob, hashlib.sha256).hexdigest()

    def save(self, model: Any, params: Optional[dict], data_window: dict, metrics: dict) -> str:
        """Store ``model`` (every part of it, in one artifact) as a new version; returns it.
        ``params`` default (None): the model's own ``params``."""
        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=3)
        blob = buffer.getvalue()
        digest = hashlib.sha256(blob).hexdigest()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        version = f"v{stamp}-{digest[:8]}"
        params = dict(getattr(model, "params", {}) or {}) if params is None else params
        self.lake.write_bytes(f"{self.base}/{version}/model.pkl", blob)
        self.lake.write_json(f"{self.base}/{version}/meta.json", {
            "name": self.name, "version": version, "created_at": stamp, "class": type(model).__qualname__,
            "params": params, "data_window": data_window, "metrics": metrics, "bytes": len(blob),
            "sha256": digest, "hmac_sha256": self._sign(blob)})
        log.info("saved model %s %s (%.1f MB) metrics=%s window=%s", self.name, version, len(blob) / 1e6, metrics,
                 data_window)
        return version

    def meta(self, version: str) -> dict:
        return self.lake.read_json(f"{self.base}/{version}/meta.json")

    def versions(self) -> list[str]:
        infos = self.lake.fs.get_file_info(pafs.FileSelector(self.lake.path(self.base), allow_not_found=True))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory and i.base_name.startswith("v"))

    def current_version(self) -> Optional[str]:
        path = f"{self.base}/current.json"
        return self.lake.read_json(path)["version"] if self.lake.exists(self.lake.path(path)) else None

    def load(self, version: Optional[str] = None):
        """The model of ``version`` (default: the promoted one), after checking its signature."""
        version = version or self.current_version()
        if version is None:
            raise LookupError(f"no promoted {self.name} model yet")
        blob = self.lake.read_bytes(f"{self.base}/{version}/model.pkl")
        meta = self.meta(version)
        digest = hashlib.sha256(blob).hexdigest()
        recorded = str(meta.get("hmac_sha256", ""))
        if not (recorded and hmac.compare_digest(recorded, self._sign(blob))) or not version.endswith(digest[:8]):
            raise TamperedModel(
                f"model {self.name} {version}: the file's signature does not match the one recorded at save time "
                "(changed since, or signed with another model_signing_key); refusing to load it")
        return joblib.load(io.BytesIO(blob))

    def promote(self, version: str, reason: str) -> None:
        self.lake.write_json(f"{self.base}/current.json", {
            "version": version, "promoted_at": datetime.now(timezone.utc).isoformat(), "reason": reason})

    def gate(self, candidate: str, rule: GateRule, current_metrics: Optional[dict] = None) -> GateDecision:
        """Promote ``candidate`` if every floor/ceiling of ``rule`` holds and it is not worse than
        the current model by more than the tolerance. ``current_metrics``: the current model
        re-measured on the candidate's held-out data (default: the figures stored with it, which
        came from other data). The first model is promoted if its floors hold."""
        current = self.current_version()
        metrics = self.meta(candidate)["metrics"]
        value = float(metrics[rule.metric])
        failed = [f"{m} {float(metrics.get(m, float('nan'))):.4f} < floor {v}"
                  for m, v in rule.floors.items() if not float(metrics.get(m, float("nan"))) >= v]
        failed += [f"{m} {float(metrics.get(m, float('nan'))):.4f} > ceiling {v}"
                   for m, v in rule.ceilings.items() if not float(metrics.get(m, float("nan"))) <= v]
        current_value = None
        if current is not None and current_metrics is None:
            current_metrics = self.meta(current)["metrics"]
        if current is None:
            promoted, reason = not failed, "no current model"
        else:
            current_value = float(current_metrics[rule.metric])
            margin = (value - current_value) if rule.higher_is_better else (current_value - value)
            better = margin >= -rule.tolerance
            promoted = better and not failed
            reason = (f"{rule.metric} {value:.4f} {'not worse than' if better else 'worse than'} current "
                      f"{current_value:.4f} (tolerance {rule.tolerance})")
        if failed:
            reason += "; limits failed: " + "; ".join(failed)
        decision = GateDecision(promoted, candidate, current, rule.metric, value, current_value, reason,
                                dict(metrics), current_metrics if current is not None else None, failed)
        if decision.promoted:
            self.promote(candidate, decision.reason)
        history = f"{self.base}/history.jsonl"
        previous = self.lake.read_bytes(history) if self.lake.exists(self.lake.path(history)) else b""
        entry = json.dumps({**decision.to_dict(), "at": datetime.now(timezone.utc).isoformat()}, default=str) + "\n"
        self.lake.write_bytes(history, previous + entry.encode())
        (log.info if decision.promoted else log.warning)("gate %s: %s -> %s", self.name, decision.reason,
                                                          "promoted" if decision.promoted else "refused")
        return decision

    def decisions(self) -> list[dict]:
        path = f"{self.base}/history.jsonl"
        if not self.lake.exists(self.lake.path(path)):
            return []
        return [json.loads(line) for line in self.lake.read_bytes(path).splitlines() if line.strip()]

    def prune(self, keep_last: int) -> list[str]:
        """Delete old versions: keep the current one, the one promoted before it, and the newest
        ``keep_last``; returns the deleted versions."""
        versions = self.versions()
        promoted = [d["candidate"] for d in self.decisions() if d.get("promoted")]
        keep = set(versions[-keep_last:] if keep_last > 0 else []) | set(promoted[-2:])
        keep.add(self.current_version())
        gone = [v for v in versions if v not in keep]
        for version in gone:
            self.lake.fs.delete_dir(self.lake.path(f"{self.base}/{version}"))
        if gone:
            log.info("pruned %d old %s versions (kept %d)", len(gone), self.name, len(versions) - len(gone))
        return gone
