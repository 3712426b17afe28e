import json

from transforms.common import settings as settings_module
from transforms.common.quarantine import Quarantine, quarantine_spec


def test_quarantine_keeps_rows_with_reasons_per_stage(lake):
    first = Quarantine("parse")
    first.add({"user": ""}, "empty user", "log.tsv:3")
    first.add("garbage line", "unparseable", "log.tsv:9")
    first.write(lake, "search_logs", "ds", "2026-01-01")
    other = Quarantine("validate")
    other.add({"x": 1}, "out of range")
    other.write(lake, "search_logs", "ds", "2026-01-01")
    first.write(lake, "search_logs", "ds", "2026-01-01")  # rerun: no duplicates
    rows = lake.read_partition(quarantine_spec("search_logs", "ds"), "2026-01-01")
    assert sorted(rows["reason"]) == ["empty user", "out of range", "unparseable"]
    assert json.loads(rows[rows["reason"] == "empty user"]["row"].iloc[0]) == {"user": ""}
    assert first.counts() == {"empty user": 1, "unparseable": 1}


def test_settings_precedence(monkeypatch):
    monkeypatch.setenv("TRACKSCOPE_DWELL_S", "2.5")
    monkeypatch.setenv("TRACKSCOPE_BROWSERS_PER_TASK", "3")
    loaded = settings_module.load(variable_getter={"trackscope_browsers_per_task": "6"}.get)
    assert loaded.dwell_s == 2.5 and loaded.browsers_per_task == 6
    assert settings_module.load(browsers_per_task=1).browsers_per_task == 1


def test_a_lone_surrogate_or_nul_never_blocks_a_quarantine_write(lake):
    bad = Quarantine("collect")
    bad.add({"ua": "Mozilla\ud800", "x": "a\x00b"}, "bad batch \udcff", "batch-\ud83d.json")
    bad.add(b"\xff\xfe raw bytes", "not UTF-8")
    bad.add("x" * 200_000, "over-long line")
    bad.write(lake, "mouse_events", "ds", "2026-01-01")
    rows = lake.read_partition(quarantine_spec("mouse_events", "ds"), "2026-01-01")
    assert len(rows) == 3 and "\ufffd" in rows["row"].iloc[0] and "\x00" not in rows["row"].iloc[0]
    assert len(rows["row"].iloc[2]) < 21_000 and "200000 characters" in rows["row"].iloc[2]


def test_summary_counts_add_up_and_duplicates_are_counted():
    q = Quarantine("ingest")
    q.add("garbage", "unparseable")
    q.add_duplicate("line 7", "log:8")
    counts = q.summary(read=10, kept=7, merged=1)
    assert counts["quarantined"] == 1 and counts["duplicates"] == 1 and counts["unaccounted"] == 0
    assert q.summary(read=12, kept=7)["unaccounted"] == 3


def test_a_stage_result_with_nan_travels_as_json():
    """mouse_training's gate returned an AUC of NaN (no impostor on the test day) and the task
    failed sending it: results are made strict-JSON safe."""
    import json

    import numpy as np

    from transforms.common.airflow_glue import json_safe

    result = json_safe({"auc": float("nan"), "eer": np.float64("inf"), "n": np.int64(3), "by_k": [1.5, float("-inf")]})
    assert json.loads(json.dumps(result, allow_nan=False)) == {"auc": None, "eer": None, "n": 3, "by_k": [1.5, None]}
