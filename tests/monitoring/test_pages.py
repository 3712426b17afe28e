"""The monitoring pages on a seeded lake (local and S3): a run's report (Markdown rendered, charts,
JSON figures, the survey's HTML page), checkpoints with failing rows, quarantine counts with
reasons, gate decisions with both models' metrics, alerts — and what the file route refuses."""
from datetime import datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from transforms.common import monitoring, notify
from transforms.common.contract import Col, DatasetSpec
from transforms.common.monitoring_app import create_app
from transforms.common.quarantine import Quarantine
from transforms.common.validation import CheckpointFailed, run_checkpoint

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
DAY = "2026-01-02"


def _gate(lake):
    from transforms.common.models import GateRule, ModelRegistry

    registry = ModelRegistry(lake, "mouse_identification", key="test-key")
    first = registry.save({"w": 1}, {}, {"train": "a"}, {"accuracy": 0.80, "eer": 0.2})
    registry.gate(first, GateRule("accuracy"))
    second = registry.save({"w": 2}, {}, {"train": "b"}, {"accuracy": 0.70, "eer": 0.3})
    return registry.gate(second, GateRule("accuracy"))


@pytest.fixture
def seeded(any_lake, tmp_path, monkeypatch):
    import great_expectations as gx

    monkeypatch.setenv("TRACKSCOPE_MODEL_SIGNING_KEY", "test-key")
    lake = any_lake
    started = datetime.now(timezone.utc) - timedelta(minutes=5)
    folder = tmp_path / "rep"
    folder.mkdir()
    (folder / "report.md").write_text("# Mouse identification of 2026-01-02\n\n| method | accuracy |\n| --- | --- |\n"
                                      "| forest | 0.912 |\n\n![accuracy by day](acc.png)\n\n<script>alert(1)</script>\n")
    (folder / "acc.png").write_bytes(PNG)
    (folder / "metrics.json").write_text('{"accuracy": 0.912, "users": 40}')
    lake.replace_dir_from_local(str(folder), f"reports/mouse/ds={DAY}")
    spec = DatasetSpec("mouse_events", [Col("uid", pa.string()), Col("dt_ms", pa.int64())], "ds")
    with pytest.raises(CheckpointFailed):
        run_checkpoint(lake, "mouse_events", DAY, pd.DataFrame({"uid": ["u1", "u2", "u3"], "dt_ms": [5, -40, 7]}),
                       [gx.expectations.ExpectColumnValuesToBeBetween(column="dt_ms", min_value=0)], spec=spec)
    quarantine = Quarantine("ingest")
    quarantine.add("{broken", "malformed JSON: Expecting value")
    quarantine.add("{broken2", "malformed JSON: Expecting value")
    quarantine.add({"uid": "u9"}, "no events")
    quarantine.write(lake, "mouse_events", "ds", DAY)
    decision = _gate(lake)
    run = monitoring.RunInfo("mouse_training", "manual__2026-01-03T00:00:00+00:00", "failed",
                             logical_date=datetime(2026, 1, 3, tzinfo=timezone.utc), start_date=started,
                             conf={"ds": DAY})
    notify.record(type("S", (), {"lake": lake})(),
                  notify.Alert("task_failed", run.dag_id, run.run_id, "check_events", partition_key="ds", partition=DAY,
                               checkpoint="mouse_events", failing_expectations=["expect_column_values_to_be_between"]))
    return lake, run, decision


def client(lake, run):
    allow = lambda: None  # noqa: E731 - the auth dependencies are Airflow's in the plugin (tested in the UI test)
    app = create_app(lambda: lake, allow, allow, lambda dag_id, run_id: run if run_id == run.run_id else None,
                     lambda: [run])
    return TestClient(app)


def test_run_page_shows_report_checkpoints_quarantine_gate_and_alerts(seeded):
    lake, run, decision = seeded
    http = client(lake, run)
    page = http.get(f"/runs/{run.dag_id}/{run.run_id}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Mouse identification of 2026-01-02</h1>" in text  # Markdown rendered, not raw
    assert "<td>0.912</td>" in text and "<script>alert(1)</script>" not in text
    assert 'src="/lake/reports/mouse/ds%3D2026-01-02/v' in text and "acc.png" in text
    assert "<th>accuracy</th><td>0.912</td>" in text  # metrics.json as a table
    assert "mouse_events [2026-01-02]" in text and "FAILED" in text and "expect_column_values_to_be_between" in text
    assert "-40" in text  # the failing row's sample
    assert "malformed JSON: Expecting value</td><td>2</td>" in text and "no events</td><td>1</td>" in text
    assert "mouse_identification: <span class=\"bad\">refused</span>" in text and decision.promoted is False
    assert "0.7000" in text and "0.8000" in text  # both models' metrics
    assert "check_events" in text  # the alert of this run
    image = text.split('src="', 2)[1].split('"')[0] if 'src="' in text else ""
    assert image
    png = http.get(image)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content == PNG
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in png.headers["content-security-policy"]


def test_overview_lists_the_latest_of_each(seeded):
    lake, run, _ = seeded
    text = client(lake, run).get("/").text
    assert "trackscope monitoring" in text and f">{run.run_id}</a>" in text
    assert 'href="/reports/mouse/ds%3D2026-01-02"' in text
    assert "mouse_events" in text and "refused" in text and "malformed JSON" in text
    report = client(lake, run).get("/reports/mouse/ds=2026-01-02")
    assert report.status_code == 200 and "<h1>Mouse identification of 2026-01-02</h1>" in report.text


def test_file_route_serves_only_report_files(seeded):
    lake, run, _ = seeded
    http = client(lake, run)
    assert http.get("/lake/_checkpoints/mouse_events/2026-01-02/result.json").status_code == 403
    assert http.get("/lake/models/mouse_identification/history.jsonl").status_code == 403
    assert http.get("/lake/reports/../models/x.json").status_code in (403, 404)
    assert http.get("/lake/reports/mouse/ds=2026-01-02/nothing.png").status_code == 404
    assert http.get("/runs/mouse_training/other-run").status_code == 404


def test_run_partition_follows_params_events_then_logical_date():
    day = datetime(2026, 2, 1, tzinfo=timezone.utc)
    assert monitoring.RunInfo("fingerprint_daily", "r", logical_date=day).partition == ("ds", "2026-02-01")
    assert monitoring.RunInfo("fingerprint_daily", "r", logical_date=day, conf={"ds": "2026-01-05"}).partition == \
        ("ds", "2026-01-05")
    assert monitoring.RunInfo("survey_analysis", "r", event_extras=[{"crawl_id": "c1"}, {"crawl_id": "c2"}]).partition \
        == ("crawl_id", "c2")
    assert monitoring.RunInfo("survey_analysis", "r", conf={"crawl_id": "../x"}).partition == ("crawl_id", "")


def test_a_report_keyed_otherwise_is_found_by_the_run_that_wrote_it(lake, tmp_path):
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "report.md").write_text("# Search authentication: evaluation\n\nEER 0.12\n")
    started = datetime.now(timezone.utc) - timedelta(seconds=30)
    lake.replace_dir_from_local(str(folder), "reports/search_auth/evaluation/first_day=2026-01-01")
    run = monitoring.RunInfo("search_auth_evaluation", "manual__x", "success", conf={"ds": "2026-01-28"},
                             start_date=started, end_date=datetime.now(timezone.utc))
    text = monitoring.run_page(lake, run, "/trackscope")
    assert "<h1>Search authentication: evaluation</h1>" in text and "first_day=2026-01-01" in text
    earlier = monitoring.RunInfo("search_auth_evaluation", "manual__y", "success", conf={"ds": "2026-01-28"},
                                 start_date=started - timedelta(days=1), end_date=started - timedelta(hours=23))
    assert "Search authentication: evaluation" not in monitoring.run_page(lake, earlier, "/trackscope")
