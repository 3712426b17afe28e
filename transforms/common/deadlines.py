"""Deadline alerts: a daily pipeline or a nightly retrain that has not finished in time alerts
the same targets as a failure (:mod:`transforms.common.notify`).

Built on Airflow 3's deadline alerts: :func:`deadline_for` gives a DAG a ``DeadlineAlert``
measured from when its run was queued (not from its logical date: a backfill of 1995 is not
late), and when the scheduler finds the deadline passed with the run unfinished it runs
:func:`deadline_missed` through the executor. Which DAGs get one and how long they may take:

* daily pipelines (schedule :func:`transforms.common.dagkit.daily_partitions`):
  ``TRACKSCOPE_DEADLINE_DAILY_MIN`` minutes (e.g. 240);
* retrains (``*_retrain``, ``*_nightly``, ``*_training``): ``TRACKSCOPE_DEADLINE_RETRAIN_MIN``
  (e.g. 480).

The limits are read when the DAG files are parsed (environment of the DAG processor); unset or 0:
no deadline (the default, see ``DEFAULT_MINUTES``: ``airflow dags test`` breaks on DAGs with one).
"""
from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Optional

log = logging.getLogger(__name__)
# Off unless configured: with a DeadlineAlert, `airflow dags test` of Airflow 3.3.2 leaves the run
# "running" (StatementError on deadline_alert.id while it handles the run's deadline), and the demo,
# the tests and operators' manual reruns use `dags test`. Deployments (scheduler) set the limits.
DEFAULT_MINUTES = {"daily": 0.0, "retrain": 0.0}
RETRAIN_SUFFIXES = ("_retrain", "_nightly", "_training")


def deadline_kind(dag_id: str, daily: bool) -> Optional[str]:
    if dag_id.endswith(RETRAIN_SUFFIXES):
        return "retrain"
    return "daily" if daily else None


def limit_minutes(kind: str) -> float:
    raw = os.environ.get(f"TRACKSCOPE_DEADLINE_{kind.upper()}_MIN", "")
    try:
        return float(raw) if raw.strip() else DEFAULT_MINUTES[kind]
    except ValueError:
        log.error("TRACKSCOPE_DEADLINE_%s_MIN=%r is not a number: using %s", kind.upper(), raw, DEFAULT_MINUTES[kind])
        return DEFAULT_MINUTES[kind]


def deadline_for(dag_id: str, daily: bool):
    """The ``DeadlineAlert`` of ``dag_id`` (None when it has none or its limit is 0)."""
    kind = deadline_kind(dag_id, daily)
    minutes = limit_minutes(kind) if kind else 0
    if not minutes or minutes <= 0:
        return None
    from airflow.sdk import DeadlineAlert, DeadlineReference, SyncCallback

    return DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=timedelta(minutes=minutes),
                         callback=SyncCallback(deadline_missed, kwargs={"kind": kind, "limit_min": minutes}),
                         name=f"trackscope {kind} deadline")


def alert_for(context: Optional[dict], kind: str, limit_min: float):
    """The alert of a missed deadline; ``context`` is what Airflow passes (the run, the deadline)."""
    from transforms.common.notify import Alert, PARTITION_PARAMS

    run = (context or {}).get("dag_run") or {}
    deadline = (context or {}).get("deadline") or {}
    conf = run.get("conf") or {}
    key, value = "", ""
    for param in PARTITION_PARAMS:
        if conf.get(param):
            key, value = param, str(conf[param])
            break
    if not value and run.get("logical_date"):
        key, value = "ds", str(run["logical_date"])[:10]
    return Alert(kind="deadline_missed", dag_id=str(run.get("dag_id", "")), run_id=str(run.get("dag_run_id", "")),
                 partition_key=key, partition=value, error_type="DeadlineMissed",
                 error=(f"{kind} run not finished {limit_min:g} minutes after it was queued "
                        f"(queued {run.get('queued_at')}, deadline {deadline.get('deadline_time')}, "
                        f"state {run.get('state')})"))


def deadline_missed(context: Optional[dict] = None, kind: str = "daily", limit_min: float = 0.0) -> dict:
    """The deadline callback Airflow runs: alert every configured target."""
    from transforms.common.notify import send

    return send(alert_for(context, kind, limit_min))
