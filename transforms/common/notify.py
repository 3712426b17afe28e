"""Failure alerts: every trackscope task that fails tells someone, with what an operator needs.

:func:`on_task_failure` is the ``on_failure_callback`` of every DAG (through
:mod:`transforms.common.dagkit`'s default args). It builds one :class:`Alert` from the task's
context — DAG, task, run, partition, the exception and, for a failed Great Expectations
checkpoint, the checkpoint's name and each failing expectation — then

* logs it (always),
* records it in the lake under ``_alerts/<dag_id>/<run_id>/<task_id>.json`` (the monitoring
  pages list it next to the run's report),
* POSTs it as JSON to ``alert_webhook_url`` when set (Slack/Mattermost-compatible: the body has a
  ``text`` field plus every field of the alert),
* e-mails it through Airflow's SMTP provider when ``alert_email`` is set (connection
  ``alert_smtp_conn_id``).

Settings (environment ``TRACKSCOPE_<NAME>``, Airflow Variable ``trackscope_<name>`` overrides):
``alert_webhook_url``, ``alert_email`` (comma-separated), ``alert_smtp_conn_id``,
``alert_timeout_s``. A broken alert target never hides the task's own failure: sending errors are
logged and swallowed.

The same :func:`send` carries deadline alerts (:mod:`transforms.common.deadlines`).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import urllib.request
from datetime import datetime, timezone
from typing import Optional

from transforms.common.settings import BaseSettings
from transforms.common.text import safe_text

log = logging.getLogger(__name__)
PARTITION_PARAMS = ("crawl_id", "ds")  # the param that names a run's partition, in this order
MAX_ERROR_CHARS = 4000


@dataclasses.dataclass(frozen=True)
class AlertSettings(BaseSettings):
    alert_webhook_url: str = ""  # POST target of every alert (JSON); empty: no webhook
    alert_email: str = ""  # comma-separated recipients via Airflow's SMTP provider; empty: no e-mail
    alert_smtp_conn_id: str = "smtp_default"
    alert_timeout_s: float = 10.0


@dataclasses.dataclass
class Alert:
    kind: str  # task_failed | deadline_missed
    dag_id: str
    run_id: str
    task_id: str = ""
    map_index: int = -1
    try_number: int = 0
    partition_key: str = ""
    partition: str = ""
    error_type: str = ""
    error: str = ""
    checkpoint: str = ""
    failing_expectations: list = dataclasses.field(default_factory=list)
    log_url: str = ""
    at: str = dataclasses.field(default_factory=lambda: datetime.now(timezone.utc).isoformat())

    @property
    def title(self) -> str:
        where = f"{self.dag_id}.{self.task_id}" if self.task_id else self.dag_id
        part = f" [{self.partition_key}={self.partition}]" if self.partition else ""
        what = "missed its deadline" if self.kind == "deadline_missed" else "failed"
        return f"trackscope: {where}{part} {what} (run {self.run_id})"

    @property
    def text(self) -> str:
        lines = [self.title]
        if self.checkpoint:
            lines.append(f"checkpoint {self.checkpoint} failed:")
            lines += [f"  - {e}" for e in self.failing_expectations]
        if self.error:
            lines.append(f"{self.error_type}: {self.error}" if self.error_type else self.error)
        if self.log_url:
            lines.append(f"log: {self.log_url}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "title": self.title, "text": self.text}


def _partition(context) -> tuple[str, str]:
    """(param, value) of the run's partition: the DAG's partition param as the run resolves it
    (explicit param, triggering asset event, logical date); ("", "") when it cannot be told."""
    from transforms.common.airflow_glue import run_key

    params = context.get("params") or {}
    for param in PARTITION_PARAMS:
        if param in params:
            try:
                return param, run_key(context, param)
            except Exception as error:  # noqa: BLE001 - an invalid key is itself often why the task failed
                return param, f"(invalid: {safe_text(str(params.get(param)))[:100]}: {error})"
    return "", ""


def alert_from_context(context, kind: str = "task_failed") -> Alert:
    """The alert describing the failed task of ``context`` (an Airflow task context)."""
    from transforms.common.validation import CheckpointFailed

    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    error = context.get("exception")
    key, value = _partition(context)
    alert = Alert(kind=kind,
                  dag_id=str(getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "")),
                  run_id=str(getattr(ti, "run_id", None) or getattr(dag_run, "run_id", "") or context.get("run_id", "")),
                  task_id=str(getattr(ti, "task_id", "") or ""),
                  map_index=int(getattr(ti, "map_index", -1) if getattr(ti, "map_index", None) is not None else -1),
                  try_number=int(getattr(ti, "try_number", 0) or 0),
                  partition_key=key, partition=value)
    if error is not None:
        alert.error_type = type(error).__name__
        alert.error = safe_text(str(error))[:MAX_ERROR_CHARS]
    if isinstance(error, CheckpointFailed):
        alert.checkpoint = error.name
        alert.failing_expectations = list(error.failures)
        if error.partition and not alert.partition:
            alert.partition = error.partition
    try:
        alert.log_url = str(ti.log_url) if ti is not None else ""
    except Exception:  # noqa: BLE001 - no base URL configured: the alert still goes out
        alert.log_url = ""
    return alert


def post_webhook(url: str, alert: Alert, timeout_s: float = 10.0) -> int:
    body = json.dumps(alert.to_dict(), ensure_ascii=False, default=str).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=timeout_s) as answer:
        return answer.status


def send_email(recipients: str, alert: Alert, conn_id: str) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(to=[r.strip() for r in recipients.split(",") if r.strip()], subject=alert.title,
                             html_content=f"<pre>{_html_escape(alert.text)}</pre>")


def _html_escape(text: str) -> str:
    import html

    return html.escape(text)


def record(settings: BaseSettings, alert: Alert) -> Optional[str]:
    """Keep the alert in the lake (``_alerts/<dag>/<run>/<task or deadline>.json``)."""
    from transforms.common.keys import check_key

    name = alert.task_id or alert.kind
    if alert.map_index >= 0:
        name += f".{alert.map_index}"
    try:
        path = f"_alerts/{check_key(alert.dag_id, 'dag_id')}/{run_folder(alert.run_id)}/{check_key(name, 'task')}.json"
        return settings.lake.write_json(path, alert.to_dict())
    except Exception as error:  # noqa: BLE001 - the lake may be what is broken
        log.error("could not record alert in the lake: %s", error)
        return None


def run_folder(run_id: str) -> str:
    """Run ids hold ':' and '+' (``manual__2026-01-01T00:00:00+00:00``): their key-safe, stable
    folder name (the monitoring pages find a run's alerts by it)."""
    from transforms.common.keys import check_key

    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in run_id)
    if not cleaned[:1].isalnum():
        cleaned = "r" + cleaned
    return check_key(cleaned[:100], "run_id")


def send(alert: Alert, settings: Optional[AlertSettings] = None) -> dict:
    """Log, record and deliver ``alert`` to every configured target; returns what happened per
    target (``"ok"``, ``"off"`` or the error), never raises."""
    if settings is None:
        from transforms.common import settings as settings_module

        settings = settings_module.load(AlertSettings)
    log.error("ALERT %s", alert.text)
    outcome = {"lake": record(settings, alert) or "error"}
    if settings.alert_webhook_url:
        try:
            outcome["webhook"] = f"ok ({post_webhook(settings.alert_webhook_url, alert, settings.alert_timeout_s)})"
        except Exception as error:  # noqa: BLE001
            outcome["webhook"] = f"error: {error}"
    else:
        outcome["webhook"] = "off"
    if settings.alert_email:
        try:
            send_email(settings.alert_email, alert, settings.alert_smtp_conn_id)
            outcome["email"] = "ok"
        except Exception as error:  # noqa: BLE001
            outcome["email"] = f"error: {error}"
    else:
        outcome["email"] = "off"
    (log.warning if any(str(v).startswith("error") for v in outcome.values()) else log.info)(
        "alert delivery: %s", outcome)
    return outcome


def on_task_failure(context) -> None:
    """``on_failure_callback`` of every trackscope task (see :mod:`transforms.common.dagkit`)."""
    from transforms.common.airflow_glue import runtime_settings

    try:
        settings = runtime_settings(AlertSettings)
    except Exception as error:  # noqa: BLE001 - a bad setting must not swallow the alert
        log.error("alert settings unreadable (%s): using the environment's defaults", error)
        settings = AlertSettings()
    send(alert_from_context(context), settings)
