"""Failure alerts: a failed checkpoint reaches the webhook naming DAG, task, partition and the
failing expectation — in-process (the callback alone) and through a real `airflow dags test` run."""
import json
import os
from datetime import date
from types import SimpleNamespace

import pandas as pd
import pytest

from tests.monitoring.webhook import webhook_receiver
from transforms.common import notify
from transforms.common.contract import Col, DatasetSpec
from transforms.common.validation import CheckpointFailed, run_checkpoint


def _failed_checkpoint(lake) -> CheckpointFailed:
    import great_expectations as gx
    import pyarrow as pa

    spec = DatasetSpec("toy_visits", [Col("uid", pa.string(), nullable=False), Col("n", pa.int64())], "ds")
    frame = pd.DataFrame({"uid": ["a", "b", "c"], "n": [1, 50, 3]})
    with pytest.raises(CheckpointFailed) as failure:
        run_checkpoint(lake, "toy_visits", "2026-01-02", frame,
                       [gx.expectations.ExpectColumnValuesToBeBetween(column="n", min_value=0, max_value=10)], spec=spec)
    return failure.value


def test_checkpoint_failure_names_the_checkpoint_and_expectation(lake):
    error = _failed_checkpoint(lake)
    assert error.name == "toy_visits" and error.partition == "2026-01-02"
    assert len(error.failures) == 1 and error.failures[0].startswith("expect_column_values_to_be_between")
    assert "'column': 'n'" in error.failures[0]


def test_callback_posts_dag_task_partition_and_expectation(lake, lake_uri, monkeypatch):
    error = _failed_checkpoint(lake)
    ti = SimpleNamespace(dag_id="toy_daily", task_id="check_visits", run_id="manual__2026-01-03T00:00:00+00:00",
                         map_index=-1, try_number=1, log_url="http://127.0.0.1/log")
    context = {"ti": ti, "params": {"ds": "2026-01-02"}, "exception": error}
    with webhook_receiver() as hook:
        monkeypatch.setenv("TRACKSCOPE_ALERT_WEBHOOK_URL", hook.url)
        monkeypatch.setenv("TRACKSCOPE_LAKE_URI", lake_uri)
        outcome = notify.send(notify.alert_from_context(context))
    assert outcome["webhook"].startswith("ok") and outcome["email"] == "off"
    [message] = hook.messages
    assert (message["dag_id"], message["task_id"], message["partition_key"], message["partition"]) == \
        ("toy_daily", "check_visits", "ds", "2026-01-02")
    assert message["checkpoint"] == "toy_visits" and message["error_type"] == "CheckpointFailed"
    assert "expect_column_values_to_be_between" in message["failing_expectations"][0]
    assert "toy_daily.check_visits [ds=2026-01-02] failed" in message["text"]
    # kept in the lake, where the monitoring pages list it with the run
    stored = lake.read_json(f"_alerts/toy_daily/{notify.run_folder(ti.run_id)}/check_visits.json")
    assert stored["failing_expectations"] == message["failing_expectations"]


def test_a_dead_webhook_does_not_raise(lake_uri, monkeypatch):
    monkeypatch.setenv("TRACKSCOPE_LAKE_URI", lake_uri)
    monkeypatch.setenv("TRACKSCOPE_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/nothing-listens")
    alert = notify.Alert(kind="task_failed", dag_id="d", run_id="r", task_id="t", error="boom")
    outcome = notify.send(alert)
    assert outcome["webhook"].startswith("error") and outcome["lake"] != "error"


def test_every_dag_task_alerts_on_failure():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.path.join(os.path.dirname(__file__), "..", "..", "dags"))
    assert bag.dags and not bag.import_errors
    missing = [f"{d.dag_id}.{t.task_id}" for d in bag.dags.values() for t in d.tasks
               if notify.on_task_failure not in _callbacks(t.on_failure_callback)]
    assert not missing, missing


def _callbacks(value):
    return value if isinstance(value, (list, tuple)) else [value]


@pytest.mark.slow
def test_failed_checkpoint_in_airflow_alerts_the_webhook(tmp_path):
    """fingerprint_daily on a day whose visits lack attributes: check_ingest's checkpoint fails and the
    run's failure callback (wired by dagkit for every DAG) POSTs the alert to a loopback receiver."""
    from tests.airflow_run import airflow_env, migrate, run_dag
    from transforms.common.lake import Lake
    from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator, write_daily_files

    visits = HistoryGenerator(GeneratorConfig(seed=5, devices=120, days=60, start=date(2015, 5, 1))).visits()
    day = visits[len(visits) // 2]["ts"][:10]
    sparse = [{"uid": v["uid"], "ts": v["ts"], "http_user_agent": v.get("http_user_agent")}
              for v in visits if v["ts"].startswith(day)]
    write_daily_files(sparse, tmp_path / "input")
    lake_uri = (tmp_path / "lake").as_uri()
    with webhook_receiver() as hook:
        env = airflow_env(tmp_path / "airflow", TRACKSCOPE_LAKE_URI=lake_uri, TRACKSCOPE_HOME=str(tmp_path),
                          TRACKSCOPE_FP_INPUT_DIR=str(tmp_path / "input"), TRACKSCOPE_ALERT_WEBHOOK_URL=hook.url)
        migrate(env)
        run = run_dag(env, "fingerprint_daily", logical_date=day)
    assert run.state == "failed" and run.states_of("check_ingest") == {"failed"}, run.output[-3000:]
    assert hook.messages, run.output[-3000:]
    [message] = [m for m in hook.messages if m["task_id"] == "check_ingest"]
    assert message["dag_id"] == "fingerprint_daily" and message["partition"] == day
    assert message["partition_key"] == "ds" and message["checkpoint"]
    assert any("n_attributes" in e for e in message["failing_expectations"]), message
    assert day in message["text"] and "check_ingest" in message["text"]
    alerts = Lake(lake_uri).read_json(f"_alerts/fingerprint_daily/{notify.run_folder(message['run_id'])}/check_ingest.json")
    assert alerts["failing_expectations"] == message["failing_expectations"]
    print(json.dumps(message, indent=1)[:2000])
