"""The collector app: consent enforced, batches stored per day, events parsed and validated."""
from fastapi.testclient import TestClient

from transforms.common.quarantine import Quarantine
from transforms.mouse import recorder
from transforms.mouse.collector import create_app, issue_token


def _batch(**extra):
    events = [{"t": 1000.0 + i * 0.01, "type": "move", "button": "none", "x": 10 + i, "y": 20, "sy": 0}
              for i in range(5)]
    return {"session": "s1", "user": "alice", "task": "browse", "batch": 0, "consent": True, "events": events, **extra}


def test_consent_enforced_and_batches_stored_per_day(lake):
    client = TestClient(create_app(lake, day=lambda: "2026-11-01", max_batch_events=100),
                        headers={"X-Collector-Token": issue_token(lake, "shop", [])})
    assert "grantConsent" in client.get("/recorder.js").text
    assert client.post("/collect", json=_batch(consent=False)).status_code == 403
    assert client.post("/collect", json=_batch(events=[{}] * 101)).status_code == 422  # over the cap
    assert client.post("/collect", json={"session": "s1"}).status_code == 422
    second = _batch(batch=1)
    second["events"] = [{"t": 1000.1, "type": "click", "button": "left", "x": 15, "y": 20},
                        {"t": 999.0, "type": "move", "button": "none", "x": 15, "y": 20},  # clock went back
                        {"t": 1000.2, "type": "teleport", "button": "none", "x": 15, "y": 20}]
    assert client.post("/collect", json=_batch()).json() == {"stored": 5, "ds": "2026-11-01", "duplicate": False}
    assert client.post("/collect", json=second).status_code == 202
    assert len(lake.list_files(recorder.batch_dir("2026-11-01"), ".json")) == 2
    quarantine = Quarantine("ingest")
    events = recorder.batches_to_events(recorder.read_batches(lake, "2026-11-01", quarantine), quarantine)
    assert events["event"].tolist() == ["move"] * 5 + ["click"]
    assert set(events["user_id"]) == {"recorder:shop:alice"} and set(events["session_id"]) == {"recorder:s1"}
    assert sorted(quarantine.counts()) == ["non-monotonic time (earlier than the previous event)",
                                           "unknown event/state 'teleport'"]


def test_airflow_plugin_mounts_the_collector(monkeypatch, lake_uri):
    import importlib.util
    from pathlib import Path

    monkeypatch.setenv("TRACKSCOPE_LAKE_URI", lake_uri)
    path = Path(__file__).resolve().parents[2] / "plugins/mouse_collector.py"
    spec = importlib.util.spec_from_file_location("mouse_collector_plugin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (entry,) = module.MouseCollectorPlugin.fastapi_apps
    assert entry["url_prefix"] == "/mouse"
    from transforms.common.lake import Lake

    client = TestClient(entry["app"])
    assert client.post("/collect", json=_batch()).status_code == 401  # a write token is required
    token = issue_token(Lake(lake_uri), "shop", ["https://shop.example"])
    response = client.post(f"/collect?token={token}", json=_batch())
    assert response.status_code == 202  # the lake comes from the settings at request time

    assert len(Lake(lake_uri).list_files(recorder.batch_dir(response.json()["ds"]), ".json")) == 1
