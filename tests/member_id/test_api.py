"""The estimation API on SQLite and PostgreSQL (127.0.0.1:5432): round trip, errors, limits,
usage, restart recovery and model hot reload."""
import logging
import time

import sqlalchemy as sa
from fastapi.testclient import TestClient

from transforms.common.models import GateRule, ModelRegistry
from transforms.member_id import stages
from transforms.member_id.api import app as app_module
from transforms.member_id.api import db
from transforms.member_id.api.app import create_app
from transforms.synthetic.member_id_logs import Device, user_agent

from .api_fixtures import db_url  # noqa: F401 - fixture
from .conftest import DAY_NAMES


def make_app(trained, db_url, workers=2, reload_s=0.0, lease_s=60.0, **options):
    settings = trained[0]
    return create_app(db_url, settings.lake_uri, settings.mid_city_mmdb, settings.mid_isp_mmdb,
                      workers=workers, reload_s=reload_s, lease_s=lease_s, **options)


def known_access(trained):
    """A real access of the test day (its member is in the store)."""
    enriched = trained[0].lake.read_partition(stages.ENRICHED, DAY_NAMES[-1])
    row = enriched[(enriched["member_id"] != "") & (enriched["unusable"] == "")].iloc[0]
    return {"ip": row["ip"], "access_time": row["ts"].isoformat(), "user_agent": row["user_agent"]}


def wait_result(client, key, headers, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = client.get(f"/v1/estimations/{key}", headers=headers).json()
        if body["status"] != "processing":
            return body
        time.sleep(0.05)
    raise AssertionError(f"{key} still processing")


def test_round_trip_errors_validation_usage(trained, db_url, caplog):
    caplog.set_level(logging.INFO)
    app = make_app(trained, db_url)
    raw = db.create_key(app.state.engine, "shop", rate_per_minute=100)
    admin = db.create_key(app.state.engine, "ops", is_admin=True)
    headers = {"X-API-Key": raw}
    access = known_access(trained)
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.post("/v1/estimations", json=access).status_code == 401  # header missing
        assert client.post("/v1/estimations", json=access, headers={"X-API-Key": "nope"}).status_code == 401
        bad = client.post("/v1/estimations", headers=headers,
                          json={"ip": "999.1.1.1", "access_time": "yesterday", "user_agent": ""})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        fields = {e["field"]: e["message"] for e in bad.json()["errors"]}
        assert set(fields) == {"ip", "access_time", "user_agent"} and "invalid ip address" in fields["ip"]

        accepted = client.post("/v1/estimations", json=access, headers=headers)
        assert accepted.status_code == 202 and accepted.json()["status"] == "processing"
        assert client.get(f"{accepted.json()['result_url']}?wait=31", headers=headers).status_code == 422
        body = client.get(f"{accepted.json()['result_url']}?wait=20", headers=headers).json()  # long poll
        assert body["status"] == "success" and body["model_version"]
        assert body["member_id"] == "" or body["member_id"].startswith("m")

        bot = client.post("/v1/estimations", headers=headers, json={**access, "user_agent": "curl/8.5.0"})
        failed = wait_result(client, bot.json()["key"], headers)
        assert failed["status"] == "error" and "bot" in failed["error"] and failed["member_id"] is None

        assert client.get(f"/v1/estimations/{accepted.json()['key']}", headers={"X-API-Key": admin}).status_code == 404
        usage = client.get("/v1/usage", headers=headers).json()
        assert usage["accepted"] == 2 and usage["by_status"] == {"success": 1, "error": 1}
        assert client.get("/v1/admin/usage", headers=headers).status_code == 403
        assert {u["name"] for u in client.get("/v1/admin/usage", headers={"X-API-Key": admin}).json()} == {"shop", "ops"}
        assert "/v1/estimations" in client.get("/openapi.json").json()["paths"]
        assert client.get("/docs").status_code == 200
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert access["ip"] not in logged and access["user_agent"] not in logged


def away_from_minute_end(margin_s=10.0):
    """Limits count per clock minute: start a limit test early enough in one."""
    left = 60 - time.time() % 60
    if left < margin_s:
        time.sleep(left + 0.1)


def test_rate_limit_holds_across_processes_and_restarts(trained, db_url):
    away_from_minute_end()
    first, second = make_app(trained, db_url, workers=0), make_app(trained, db_url, workers=0)  # two API processes
    raw = db.create_key(first.state.engine, "small", rate_per_minute=3)
    headers = {"X-API-Key": raw}
    with TestClient(first) as one, TestClient(second) as two:
        codes = [c.post("/v1/estimations", json=known_access(trained), headers=headers) for c in (one, two, one, two, one)]
        assert [c.status_code for c in codes] == [202, 202, 202, 429, 429]
        limited = [c for c in codes if c.status_code == 429]
        assert 1 <= int(limited[0].headers["Retry-After"]) <= 60
        usage = two.get("/v1/usage", headers=headers).json()
        assert usage["accepted"] == 3 and usage["limited"] == 2
    first.state.engine.dispose()
    restarted = make_app(trained, db_url, workers=0)
    with TestClient(restarted) as client:
        assert client.post("/v1/estimations", json=known_access(trained), headers=headers).status_code == 429
        other = db.create_key(restarted.state.engine, "other", rate_per_minute=3)  # limits are per key
        assert client.post("/v1/estimations", json=known_access(trained), headers={"X-API-Key": other}).status_code == 202


def test_long_poll_sees_results_written_by_another_process(trained, db_url):
    accepting, estimating = make_app(trained, db_url, workers=0), make_app(trained, db_url, workers=2)
    headers = {"X-API-Key": db.create_key(accepting.state.engine, "shop")}
    with TestClient(accepting) as front, TestClient(estimating):
        key = front.post("/v1/estimations", json=known_access(trained), headers=headers).json()["key"]
        started = time.monotonic()
        body = front.get(f"/v1/estimations/{key}?wait=20", headers=headers).json()  # woken by the result poller
        assert body["status"] == "success" and time.monotonic() - started < 15


def test_deleted_key_stops_within_the_cache_time(trained, db_url, monkeypatch):
    monkeypatch.setattr(app_module, "KEY_CACHE_S", 0.2)
    app = make_app(trained, db_url, workers=0)
    raw = db.create_key(app.state.engine, "leaving")
    headers = {"X-API-Key": raw}
    with TestClient(app) as client:
        assert client.post("/v1/estimations", json=known_access(trained), headers=headers).status_code == 202
        with app.state.engine.begin() as conn:
            conn.execute(db.api_keys.delete().where(db.api_keys.c.key_hash == db.hash_key(raw)))
        time.sleep(0.3)
        assert client.post("/v1/estimations", json=known_access(trained), headers=headers).status_code == 401


def test_requests_survive_a_restart_and_are_done_once(trained, db_url):
    first = make_app(trained, db_url, workers=0)  # accepts, never processes ("crashes" before)
    raw = db.create_key(first.state.engine, "shop")
    headers = {"X-API-Key": raw}
    with TestClient(first) as client:
        keys = [client.post("/v1/estimations", json=known_access(trained), headers=headers).json()["key"]
                for _ in range(4)]
    with first.state.engine.begin() as conn:  # one was claimed by a worker that died mid-work
        conn.execute(db.requests.update().where(db.requests.c.key == keys[0]).values(
            status="processing", claimed_by="dead-worker", lease_until=time.time() - 1, attempts=1))
    first.state.engine.dispose()
    second = make_app(trained, db_url, workers=2)
    with TestClient(second) as client:
        results = [wait_result(client, k, headers) for k in keys]
        assert all(r["status"] == "success" for r in results)
        time.sleep(0.5)  # workers keep polling: nothing is claimed again
    with second.state.engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(sa.select(db.requests))}
    assert rows[keys[0]].attempts == 2 and all(rows[k].attempts == 1 for k in keys[1:])
    assert db.finish(second.state.engine, "dead-worker", [{"key": keys[0], "status": "error"}]) == 0


def test_workers_claim_at_most_a_batch_oldest_first(db_url):
    engine = db.connect(db_url)
    key_id = db.find_key(engine, db.create_key(engine, "shop"))["id"]
    keys = [db.submit(engine, key_id, 100, "23.0.0.1", "2026-03-01T00:00:00+00:00", "ua")[0] for _ in range(5)]
    first, second = db.claim(engine, "w1", 3, 60), db.claim(engine, "w2", 3, 60)
    assert [r["key"] for r in first] == keys[:3] and [r["key"] for r in second] == keys[3:]
    assert db.claim(engine, "w3", 3, 60) == []
    assert db.finish(engine, "w1", [{"key": r["key"], "status": "success"} for r in first + second]) == 3
    engine.dispose()


def test_newly_promoted_model_is_served_without_restart(trained, db_url):
    settings = trained[0]
    app = make_app(trained, db_url, reload_s=0.0)
    raw = db.create_key(app.state.engine, "shop")
    headers = {"X-API-Key": raw}
    registry = ModelRegistry(settings.lake, stages.MODEL_NAME)
    with TestClient(app) as client:
        before = wait_result(client, client.post("/v1/estimations", json=known_access(trained), headers=headers).json()["key"], headers)
        meta = registry.meta(before["model_version"])
        newer = registry.save(registry.load(before["model_version"]), meta["params"], meta["data_window"], meta["metrics"])
        assert registry.gate(newer, GateRule("decision_accuracy")).promoted
        try:
            after = wait_result(client, client.post("/v1/estimations", json=known_access(trained), headers=headers).json()["key"], headers)
            assert after["model_version"] == newer != before["model_version"]
        finally:
            registry.promote(before["model_version"], "test restores the previous model")


def test_generated_user_agents_are_parseable():
    from transforms.member_id.enrich import parse_user_agent

    for kind in ("win-chrome", "win-edge", "win-firefox", "mac-safari", "mac-chrome", "iphone", "android"):
        parsed = parse_user_agent(user_agent(Device(kind, 0, "Pixel 8"), 10))
        assert parsed[1] and parsed[6] and not parsed[-1], kind


def test_batch_submit_and_results(trained, db_url):
    """A batch POST is the same as that many single POSTs in one transaction: all accepted or
    none under the limit, idempotent as a whole; one GET long-polls all its results."""
    away_from_minute_end()
    app = make_app(trained, db_url)
    raw, other = db.create_key(app.state.engine, "shop", rate_per_minute=10), db.create_key(app.state.engine, "other")
    headers = {"X-API-Key": raw}
    access = known_access(trained)
    bot = {**access, "user_agent": "curl/8.5.0"}
    with TestClient(app) as client:
        sent = client.post("/v1/estimation-batches", json={"requests": [access, bot, access]},
                           headers={**headers, "Idempotency-Key": "b-1"})
        assert sent.status_code == 202
        keys = [item["key"] for item in sent.json()["items"]]
        assert len(set(keys)) == 3 and sent.json()["items"][0]["result_url"] == f"/v1/estimations/{keys[0]}"
        replay = client.post("/v1/estimation-batches", json={"requests": [access, bot, access]},
                             headers={**headers, "Idempotency-Key": "b-1"})
        assert [i["key"] for i in replay.json()["items"]] == keys and replay.headers["Idempotent-Replayed"] == "true"
        assert client.post("/v1/estimation-batches", json={"requests": [access, access, bot]},
                           headers={**headers, "Idempotency-Key": "b-1"}).status_code == 409
        assert client.post("/v1/estimations", json=access,  # single POSTs have their own keys
                           headers={**headers, "Idempotency-Key": "b-1"}).status_code == 202
        results = client.get("/v1/estimations", params={"key": keys, "wait": 20}, headers=headers).json()["items"]
        assert [r["key"] for r in results] == keys
        assert [r["status"] for r in results] == ["success", "error", "success"] and "bot" in results[1]["error"]
        assert client.get(f"/v1/estimations/{keys[2]}", headers=headers).json() == results[2]
        assert client.get("/v1/estimations", params={"key": keys}, headers={"X-API-Key": other}).status_code == 404
        assert client.get("/v1/estimations", params={"key": ["f" * 32] * 101}, headers=headers).status_code == 422
        assert client.post("/v1/estimation-batches", json={"requests": [access] * 101}, headers=headers).status_code == 422
        assert client.post("/v1/estimation-batches", json={"requests": []}, headers=headers).status_code == 422
        over = client.post("/v1/estimation-batches", json={"requests": [access] * 7}, headers=headers)  # 4 + 7 > 10
        assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1
        assert client.post("/v1/estimation-batches", json={"requests": [access] * 6}, headers=headers).status_code == 202
        usage = client.get("/v1/usage", headers=headers).json()
    assert usage["accepted"] == 10 and usage["limited"] == 7
