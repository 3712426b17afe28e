"""Deadline alerts: which DAGs get one, what the alert says, and a real scheduler firing it."""
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.monitoring.webhook import webhook_receiver
from transforms.common import deadlines


def test_daily_pipelines_and_retrains_get_deadlines(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("TRACKSCOPE_DEADLINE_DAILY_MIN", "90")
    monkeypatch.setenv("TRACKSCOPE_DEADLINE_RETRAIN_MIN", "480")
    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    assert not bag.import_errors

    def limits(dag):
        alerts = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline] if dag.deadline else []
        return [(a.callback.kwargs["kind"], a.interval.total_seconds() / 60) for a in alerts]

    got = {dag_id: limits(dag) for dag_id, dag in bag.dags.items()}
    for daily in ("fingerprint_daily", "search_auth_daily", "member_id_ingest", "mouse_features"):
        assert got[daily] == [("daily", 90.0)], (daily, got[daily])
    for retrain in ("fingerprint_nightly", "search_auth_retrain", "member_id_retrain", "mouse_training"):
        assert got[retrain] == [("retrain", 480.0)], (retrain, got[retrain])
    assert got["survey_analysis"] == [] and got["fingerprint_import"] == []


def test_a_limit_of_zero_switches_it_off(monkeypatch):
    monkeypatch.delenv("TRACKSCOPE_DEADLINE_DAILY_MIN", raising=False)
    assert deadlines.deadline_for("search_auth_daily", True) is None  # off unless configured
    monkeypatch.setenv("TRACKSCOPE_DEADLINE_RETRAIN_MIN", "0")
    assert deadlines.deadline_for("search_auth_retrain", False) is None
    monkeypatch.setenv("TRACKSCOPE_DEADLINE_RETRAIN_MIN", "soon")  # unreadable: the default (off), logged
    assert deadlines.deadline_for("search_auth_retrain", False) is None
    monkeypatch.setenv("TRACKSCOPE_DEADLINE_RETRAIN_MIN", "480")
    assert deadlines.deadline_for("search_auth_retrain", False).interval.total_seconds() == 480 * 60


def test_missed_deadline_alert_names_run_and_partition(lake_uri, monkeypatch):
    context = {"dag_run": {"dag_id": "search_auth_daily", "dag_run_id": "scheduled__2026-02-05T00:00:00+00:00",
                           "logical_date": "2026-02-05T00:00:00Z", "queued_at": "2026-02-06T00:00:01Z",
                           "state": "running", "conf": {}},
               "deadline": {"id": "x", "deadline_time": "2026-02-06T04:00:01Z"}}
    with webhook_receiver() as hook:
        monkeypatch.setenv("TRACKSCOPE_ALERT_WEBHOOK_URL", hook.url)
        monkeypatch.setenv("TRACKSCOPE_LAKE_URI", lake_uri)
        outcome = deadlines.deadline_missed(context=context, kind="daily", limit_min=240)
    assert outcome["webhook"].startswith("ok")
    [message] = hook.messages
    assert message["kind"] == "deadline_missed" and message["dag_id"] == "search_auth_daily"
    assert message["partition"] == "2026-02-05" and "240 minutes" in message["error"]
    assert "missed its deadline" in message["text"]


@pytest.mark.slow
def test_scheduler_fires_the_deadline_and_the_failure_alert(tmp_path):
    """A real deployment (scheduler, DAG processor, API server, LocalExecutor on PostgreSQL): a
    fingerprint_daily run with a 3-second deadline on a day whose visits lack attributes (its
    check_ingest checkpoint fails): the scheduler's deadline callback and the failed task's
    callback both reach the webhook. (A day without any input file is not a failure for this
    pipeline: it publishes an empty partition.)"""
    import sqlalchemy as sa

    from tests.airflow_run import airflow_env, postgres_metadata_db, running_airflow

    try:
        database = postgres_metadata_db()
        url = database.__enter__()
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    try:
        with webhook_receiver() as hook:
            env = airflow_env(tmp_path / "airflow", AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=url,
                              TRACKSCOPE_LAKE_URI=(tmp_path / "lake").as_uri(), TRACKSCOPE_HOME=str(tmp_path),
                              TRACKSCOPE_FP_INPUT_DIR=str(tmp_path / "input"), TRACKSCOPE_ALERT_WEBHOOK_URL=hook.url,
                              TRACKSCOPE_DEADLINE_DAILY_MIN="0.05")
            day = _sparse_day(tmp_path / "input")
            with running_airflow(env, dag_ids=["fingerprint_daily"]) as airflow:
                triggered = subprocess.run(["airflow", "dags", "trigger", "fingerprint_daily", "-c",
                                            json.dumps({"ds": day})], env=airflow.env, capture_output=True, text=True,
                                           timeout=120)
                assert triggered.returncode == 0, triggered.stderr[-2000:]
                deadline = time.monotonic() + 150
                kinds = set()
                while time.monotonic() < deadline and kinds != {"deadline_missed", "task_failed"}:
                    kinds = {m["kind"] for m in hook.messages}
                    time.sleep(1)
                assert kinds == {"deadline_missed", "task_failed"}, (hook.messages, airflow.logs())
        missed = next(m for m in hook.messages if m["kind"] == "deadline_missed")
        failed = next(m for m in hook.messages if m["kind"] == "task_failed")
        assert missed["dag_id"] == failed["dag_id"] == "fingerprint_daily"
        assert missed["run_id"] == failed["run_id"] and missed["partition"] == failed["partition"] == day
        assert failed["task_id"] == "check_ingest" and failed["checkpoint"] == "fingerprint_after_ingest"
        assert "missed its deadline" in missed["text"] and "0.05 minutes" in missed["error"]
    finally:
        database.__exit__(None, None, None)


def _sparse_day(folder: Path) -> str:
    from datetime import date

    from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator, write_daily_files

    visits = HistoryGenerator(GeneratorConfig(seed=5, devices=120, days=60, start=date(2015, 5, 1))).visits()
    day = visits[len(visits) // 2]["ts"][:10]
    write_daily_files([{"uid": v["uid"], "ts": v["ts"], "http_user_agent": v.get("http_user_agent")}
                       for v in visits if v["ts"].startswith(day)], folder)
    return day
