"""The estimation API against hostile clients (issue 12), on SQLite and PostgreSQL: a poison
request ends `error` after a bounded number of attempts without holding back anyone else, every
bad input listed in the issue gets a small 4xx problem document, retries are idempotent,
logs carry no raw addresses or User-Agents and raw fields are purged after the retention."""
import json
import logging
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from transforms.member_id import enrich
from transforms.member_id.api import db

from .api_fixtures import db_url  # noqa: F401 - fixture
from .test_api import away_from_minute_end, known_access, make_app, wait_result

POISON_IP = "fe80::1%eth0"  # accepted by older versions; enrichment raises on the scope id
POISON_UA = "Mozilla/5.0 (poison; do not estimate)"


def test_poison_request_fails_alone_after_bounded_attempts(trained, db_url, caplog, monkeypatch):
    """A poison request among 200 normal ones of two tenants: every normal one is answered
    within the lease, the poison one ends `error` after max_attempts attempts."""
    caplog.set_level(logging.INFO)
    real = enrich.enrich_columns

    def strict(times, ips, uas, geo):  # the poison must fail even if enrichment learns scope ids
        if POISON_UA in uas:
            raise ValueError(f"cannot enrich {POISON_IP} / {POISON_UA}")
        return real(times, ips, uas, geo)
    monkeypatch.setattr(enrich, "enrich_columns", strict)
    lease_s, attempts = 20.0, 3
    app = make_app(trained, db_url, workers=2, lease_s=lease_s, max_attempts=attempts, retry_s=0.2)
    tenants = [db.create_key(app.state.engine, name, rate_per_minute=10_000) for name in ("shop-a", "shop-b")]
    tenant_ids = [db.find_key(app.state.engine, raw)["id"] for raw in tenants]
    access = known_access(trained)
    normal, poison = [], None
    with TestClient(app) as client:
        started = time.time()
        for i in range(200):
            if i == 50:  # stored directly: the API itself now refuses this address (see below)
                poison, _ = db.submit(app.state.engine, tenant_ids[0], 10_000, POISON_IP, access["access_time"],
                                      POISON_UA)
            response = client.post("/v1/estimations", json=access, headers={"X-API-Key": tenants[i % 2]})
            assert response.status_code == 202
            normal.append((tenants[i % 2], response.json()["key"]))
        answers = [wait_result(client, key, {"X-API-Key": raw}, timeout=lease_s) for raw, key in normal]
        assert all(a["status"] == "success" for a in answers)
        assert time.time() - started < lease_s
        failed = wait_result(client, poison, {"X-API-Key": tenants[0]}, timeout=lease_s)
        assert client.post("/v1/estimations", headers={"X-API-Key": tenants[0]},
                           json={**access, "ip": POISON_IP}).status_code == 422
    assert failed["status"] == "error" and f"gave up after {attempts} attempts" in failed["error"]
    with app.state.engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(sa.select(db.requests))}
    assert rows[poison].attempts == attempts
    assert all(rows[key].attempts == 1 and rows[key].finished_at - rows[key].created_at < lease_s
               for _, key in normal)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert poison in logged and "failed attempt 3 of 3" in logged
    assert POISON_IP not in logged and "poison" not in logged and access["ip"] not in logged
    assert access["user_agent"] not in logged


def test_request_whose_worker_keeps_dying_ends_in_error(trained, db_url):
    app = make_app(trained, db_url, workers=0, max_attempts=2)
    raw = db.create_key(app.state.engine, "shop")
    key, _ = db.submit(app.state.engine, db.find_key(app.state.engine, raw)["id"], 100, "23.1.2.3",
                       "2026-03-01T00:00:00+00:00", "ua")
    with app.state.engine.begin() as conn:  # two workers claimed it and died (kill -9) before answering
        conn.execute(db.requests.update().where(db.requests.c.key == key).values(
            status="processing", claimed_by="dead", lease_until=time.time() - 1, attempts=2))
    pool = app.state.pool
    pool.handle("w1", db.claim(app.state.engine, "w1", 10, 60))
    row = db.fetch(app.state.engine, key)
    assert row["status"] == "error" and row["error"].startswith("gave up after 2 attempts")


def _raw_json(**fields) -> bytes:
    base = {"ip": "23.1.2.3", "access_time": "2026-03-01T10:00:00Z", "user_agent": "Mozilla/5.0 (X11)"}
    base.update(fields)
    return json.dumps(base).encode()


HOSTILE = {  # name -> (body bytes, expected status, field named in the problem)
    "lone surrogate in user_agent": (_raw_json().replace(b"(X11)", b"\\ud800(X11)"), 422, "user_agent"),
    "earliest time with +14:00": (_raw_json(access_time="0001-01-01T00:00:00+14:00"), 422, "access_time"),
    "latest time with -14:00": (_raw_json(access_time="9999-12-31T23:59:59-14:00"), 422, "access_time"),
    "time before 1995": (_raw_json(access_time="1970-01-01T00:00:00Z"), 422, "access_time"),
    "NUL in user_agent": (_raw_json(user_agent="Mozilla\u0000/5.0"), 422, "user_agent"),
    "newline in user_agent": (_raw_json(user_agent="Mozilla/5.0\r\nX-Evil: 1"), 422, "user_agent"),
    "whitespace-only user_agent": (_raw_json(user_agent="   "), 422, "user_agent"),
    "private ip": (_raw_json(ip="10.1.2.3"), 422, "ip"),
    "loopback ip": (_raw_json(ip="::1"), 422, "ip"),
    "scoped link-local ip": (_raw_json(ip=POISON_IP), 422, "ip"),
    "not an ip": (_raw_json(ip="999.1.1.1"), 422, "ip"),
    "unknown field": (_raw_json(admin=True), 422, "admin"),
    "long user_agent": (_raw_json(user_agent="A" * 5000), 422, "user_agent"),
    "10 MB user_agent": (_raw_json(user_agent="A" * 10_000_000), 413, None),
    "10 MB unknown field": (_raw_json(junk="A" * 10_000_000), 413, None),
    "not JSON": (b"{\"ip\": ", 400, None),
    "JSON array": (b"[1, 2]", 422, None),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_inputs_get_small_problem_documents(trained, db_url, name):
    body, status, field = HOSTILE[name]
    app = make_app(trained, db_url, workers=0)
    headers = {"X-API-Key": db.create_key(app.state.engine, "shop"), "Content-Type": "application/json"}
    with TestClient(app) as client:
        response = client.post("/v1/estimations", content=body, headers=headers)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/problem+json"
    assert len(response.content) < 2000  # never echoes the input
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["instance"].startswith("urn:request:")
    assert problem["instance"].endswith(response.headers["x-request-id"])
    if field:
        assert field in {e["field"] for e in problem["errors"]}
    with app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.requests)).scalar() == 0


def test_malformed_result_keys_are_refused_not_crashed(trained, db_url):
    app = make_app(trained, db_url, workers=0)  # a NUL reached PostgreSQL as a 500 before
    headers = {"X-API-Key": db.create_key(app.state.engine, "shop")}
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("%00", "a%00b", "%ED%A0%80", "%FF", "x" * 5000, "0" * 31):
            response = client.get(f"/v1/estimations/{path}", headers=headers)
            assert response.status_code == 422 and len(response.content) < 2000, (path, response.status_code)
        assert client.get(f"/v1/estimations/{'0' * 32}", headers=headers).status_code == 404


def test_streamed_body_over_the_limit_is_refused(trained, db_url):
    app = make_app(trained, db_url, workers=0, max_body_bytes=1000)
    headers = {"X-API-Key": db.create_key(app.state.engine, "shop"), "Content-Type": "application/json"}

    def chunks():  # no Content-Length: sent chunked
        yield b'{"ip": "23.1.2.3", "access_time": "2026-03-01T10:00:00Z", "user_agent": "'
        for _ in range(100):
            yield b"A" * 100
        yield b'"}'
    with TestClient(app) as client:
        response = client.post("/v1/estimations", content=chunks(), headers=headers)
    assert response.status_code == 413 and response.json()["detail"] == "body over 1000 bytes"


def test_keys_idempotency_and_documented_statuses(trained, db_url):
    away_from_minute_end()
    app = make_app(trained, db_url, workers=0)
    raw = db.create_key(app.state.engine, "shop", rate_per_minute=2)
    headers = {"X-API-Key": raw}
    access = known_access(trained)
    with TestClient(app) as client:
        for bad_key in ({}, {"X-API-Key": ""}, {"X-API-Key": "nope"}, {"X-API-Key": "k" * 5000}):
            response = client.post("/v1/estimations", json=access, headers=bad_key)
            assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"
        first = client.post("/v1/estimations", json=access, headers={**headers, "Idempotency-Key": "order-17"})
        retries = [client.post("/v1/estimations", json=access, headers={**headers, "Idempotency-Key": "order-17"})
                   for _ in range(3)]  # e.g. the client's connection reset before it read the answer
        assert first.status_code == 202 and {r.json()["key"] for r in retries} == {first.json()["key"]}
        assert all(r.headers["Idempotent-Replayed"] == "true" for r in retries)
        reused = client.post("/v1/estimations", json={**access, "user_agent": "Mozilla/5.0 (other)"},
                             headers={**headers, "Idempotency-Key": "order-17"})
        assert reused.status_code == 409 and reused.headers["content-type"] == "application/problem+json"
        usage = client.get("/v1/usage", headers=headers).json()
        assert usage["accepted"] == 1 and usage["limited"] == 0 and usage["by_status"] == {"pending": 1}
        assert client.post("/v1/estimations", json=access, headers=headers).status_code == 202  # 2nd of 2
        assert client.post("/v1/estimations", json=access, headers=headers).status_code == 429
        assert client.post("/v1/estimations", json=access,
                           headers={**headers, "Idempotency-Key": "bad key with spaces"}).status_code == 422
        spec = client.get("/openapi.json").json()
    post = spec["paths"]["/v1/estimations"]["post"]["responses"]
    assert {"202", "400", "401", "409", "413", "422", "429"} <= set(post)
    assert post["401"]["content"]["application/problem+json"]["schema"]["required"] == ["type", "title", "status"]
    assert {"200", "401", "404", "413", "422"} <= set(spec["paths"]["/v1/estimations/{request_key}"]["get"]["responses"])
    assert "403" in spec["paths"]["/v1/admin/usage"]["get"]["responses"]


def test_raw_fields_purged_after_retention_counts_stay(trained, db_url):
    app = make_app(trained, db_url, workers=1, retention_s=0.5)
    raw = db.create_key(app.state.engine, "shop")
    headers = {"X-API-Key": raw}
    with TestClient(app) as client:
        keys = [client.post("/v1/estimations", json=known_access(trained), headers=headers).json()["key"]
                for _ in range(3)]
        results = [wait_result(client, key, headers) for key in keys]
        before = client.get("/v1/usage", headers=headers).json()
        time.sleep(0.6)
        app.state.pool.next_purge = 0.0  # the next hourly purge is due now
        deadline = time.time() + 10
        while time.time() < deadline and db.fetch(app.state.engine, keys[-1])["user_agent"]:
            time.sleep(0.05)
        assert client.get("/v1/usage", headers=headers).json() == before
        assert [client.get(f"/v1/estimations/{k}", headers=headers).json() for k in keys] == results
    for key in keys:
        row = db.fetch(app.state.engine, key)
        assert (row["ip"], row["user_agent"], row["access_time"]) == ("", "", "") and row["purged_at"]
    assert db.purge_raw(app.state.engine, 0.0) == 0  # nothing left to purge; pending ones are never purged


def test_a_store_of_the_previous_version_is_migrated(db_url):
    engine = db.connect(db_url)
    with engine.begin() as conn:  # back to the columns the previous version created
        conn.execute(sa.text("DROP INDEX ux_mid_requests_idempotency"))
        conn.execute(sa.text("ALTER TABLE mid_requests DROP COLUMN idempotency_key"))
        conn.execute(sa.text("ALTER TABLE mid_requests DROP COLUMN purged_at"))
    engine.dispose()
    engine = db.connect(db_url)
    key_id = db.find_key(engine, db.create_key(engine, "shop"))["id"]
    first = db.submit(engine, key_id, 10, "23.1.2.3", "2026-03-01T00:00:00+00:00", "ua", idempotency_key="k1")
    assert db.submit(engine, key_id, 10, "23.1.2.3", "2026-03-01T00:00:00+00:00", "ua", idempotency_key="k1") == (
        first[0], -1)
    engine.dispose()


def test_the_largest_valid_body_is_under_the_cap(trained, db_url):
    """Every character \\u-escaped, a 2048-character astral User-Agent: still accepted (no 413)."""
    def escaped(text):
        return "".join(f"\\u{unit:04x}" for unit in memoryview(text.encode("utf-16-le")).cast("H"))
    body = "{" + ", ".join(f'"{escaped(k)}": "{escaped(v)}"' for k, v in {
        "ip": "2001:4860:4860:0000:0000:0000:0000:8888", "access_time": "2026-03-01T10:00:00.123456+01:00",
        "user_agent": "\U0001F600" * 2048}.items()) + "}"
    assert 24_576 < len(body) < 65_536
    app = make_app(trained, db_url, workers=0)
    headers = {"X-API-Key": db.create_key(app.state.engine, "shop"), "Content-Type": "application/json"}
    with TestClient(app) as client:
        assert client.post("/v1/estimations", content=body.encode(), headers=headers).status_code == 202


def finished_requests(engine, ages_days: list[float]) -> list[str]:
    """Requests of one key, finished ``ages_days`` ago."""
    key_id = db.find_key(engine, db.create_key(engine, "shop"))["id"]
    keys, _ = db.submit_many(engine, key_id, 100, [("23.1.2.3", "2026-03-01T00:00:00+00:00", "ua")] * len(ages_days))
    with engine.begin() as conn:
        for key, age in zip(keys, ages_days):
            conn.execute(db.requests.update().where(db.requests.c.key == key).values(
                status="success", member_id="m1", finished_at=time.time() - age * 86400))
    return keys


def test_purge_stage_erases_requests_finished_before_the_retention(db_url):
    """What the hourly member_id_api_purge task runs: old finished requests lose their raw
    fields, recent ones and the usage counts stay."""
    from transforms.member_id import stages
    from transforms.member_id.settings import MemberIdSettings

    engine = db.connect(db_url)
    old, recent = finished_requests(engine, [8.0, 6.0])
    usage = db.usage(engine)
    settings = MemberIdSettings(mid_api_db_url=db_url)  # retention: the default 7 days
    assert stages.purge_api_requests(settings, "2026-03-09") == {"purged": 1, "retention_days": 7.0}
    purged, kept = db.fetch(engine, old), db.fetch(engine, recent)
    assert (purged["ip"], purged["access_time"], purged["user_agent"]) == ("", "", "") and purged["purged_at"]
    assert purged["member_id"] == "m1" and kept["ip"] == "23.1.2.3" and kept["purged_at"] is None
    assert db.usage(engine) == usage
    assert stages.purge_api_requests(settings, "2026-03-09")["purged"] == 0
    engine.dispose()
