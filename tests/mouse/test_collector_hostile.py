"""The collector against hostile clients (issue 12): write tokens, allowed origins, server-side
consent rules, idempotent retries, byte and shape limits, problem documents that never echo input,
and the unauthenticated mode reserved for local demos."""
import json

import pytest
from fastapi.testclient import TestClient

from transforms.mouse import collector, recorder
from transforms.mouse.collector import create_app, issue_token, revoke

DAY = "2026-11-02"
SHOP = "https://shop.example"


def _batch(**extra):
    events = [{"t": 1000.0 + i * 0.01, "type": "move", "button": "none", "x": 10 + i, "y": 20, "sy": 0}
              for i in range(5)]
    return {"session": "s1", "user": "alice", "task": "browse", "batch": 0, "consent": True, "events": events, **extra}


def _stored(lake):
    return [json.loads(lake.read_bytes(f"{recorder.batch_dir(DAY)}/{name}"))
            for name in lake.list_files(recorder.batch_dir(DAY), ".json")]


@pytest.fixture
def site(lake, monkeypatch):
    monkeypatch.setattr(collector, "SITES_CACHE_S", 0.0)
    token = issue_token(lake, "shop", [SHOP])
    return TestClient(create_app(lake, day=lambda: DAY, max_batch_events=100)), token


def test_tokens_origins_and_consent_are_enforced_by_the_server(lake, site):
    client, token = site
    other = issue_token(lake, "blog", ["https://blog.example"])
    assert client.post("/collect", json=_batch()).status_code == 401
    assert client.post("/collect?token=mct_wrong", json=_batch()).status_code == 401
    assert client.post("/collect", json=_batch(), headers={"X-Collector-Token": "x" * 5000}).status_code == 422
    assert client.post(f"/collect?token={token}", json=_batch(), headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post(f"/collect?token={other}", json=_batch(), headers={"Origin": SHOP}).status_code == 403
    assert client.post(f"/collect?token={token}", json=_batch(consent=False), headers={"Origin": SHOP}).status_code == 403
    assert client.post(f"/collect?token={token}", json=_batch(), headers={"Origin": SHOP, "Sec-GPC": "1"}).status_code == 403
    assert _stored(lake) == []
    ok = client.post(f"/collect?token={token}", json=_batch(), headers={"Origin": SHOP})
    assert ok.status_code == 202 and ok.headers["access-control-allow-origin"] == SHOP
    assert client.post("/collect", json=_batch(batch=1), headers={"X-Collector-Token": token}).status_code == 202
    (first, second) = sorted(_stored(lake), key=lambda b: b["batch"])
    assert first["site"] == "shop" and first["user"] == "shop:alice"  # the site comes from the token
    assert "ip" not in json.dumps(first) and "agent" not in json.dumps(first)
    preflight = {"Origin": SHOP, "Access-Control-Request-Method": "POST"}
    assert client.options("/collect", headers=preflight).headers["access-control-allow-origin"] == SHOP
    assert client.options("/collect", headers={**preflight, "Origin": "https://evil.example"}).status_code == 403
    revoke(lake, "shop")
    assert client.post(f"/collect?token={token}", json=_batch(batch=2)).status_code == 401


def test_a_retry_stores_once(lake, site):
    client, token = site
    headers = {"X-Collector-Token": token}
    assert client.post("/collect", json=_batch(), headers=headers).status_code == 202
    again = client.post("/collect", json=_batch(), headers=headers)  # same content, no key: a retry
    assert again.status_code == 200 and again.json() == {"stored": 0, "ds": DAY, "duplicate": True}
    keyed = {**headers, "Idempotency-Key": "s1-load1-1"}
    assert client.post("/collect", json=_batch(batch=1), headers=keyed).status_code == 202
    assert client.post("/collect", json=_batch(batch=1), headers=keyed).json()["duplicate"] is True
    assert len(_stored(lake)) == 2


HOSTILE = {  # name -> (body bytes, status)
    "10 MB event": (json.dumps(_batch(events=[{"t": 1, "type": "move", "pad": "A" * 10_000_000}])).encode(), 413),
    "10 MB unknown field": (json.dumps(_batch(junk="A" * 10_000_000)).encode(), 413),
    "too many events": (json.dumps(_batch(events=[{"t": 1}] * 101)).encode(), 422),
    "long event text": (json.dumps(_batch(events=[{"t": 1, "type": "A" * 17}])).encode(), 422),
    "nested event": (json.dumps(_batch(events=[{"t": 1, "type": {"deep": [1, 2]}}])).encode(), 422),
    "unknown event field": (json.dumps(_batch(events=[{"t": 1, "pad": "x"}])).encode(), 422),
    "huge number": (json.dumps(_batch(events=[{"t": 1, "x": 10 ** 400}])).encode(), 422),
    "number as text": (json.dumps(_batch(events=[{"t": "1.5"}])).encode(), 422),
    "lone surrogate in user": (json.dumps(_batch(user="x")).encode().replace(b'"x"', b'"\\udc80"'), 422),
    "lone surrogate in an event": (json.dumps(_batch(events=[{"type": "x"}])).encode().replace(b'"x"', b'"\\ud800"'), 422),
    "NUL in session": (json.dumps(_batch(session="s\u00001")).encode(), 422),
    "NaN in an event": (json.dumps(_batch(events=[{"t": float("nan")}])).encode(), 422),
    "unknown field": (json.dumps(_batch(admin=True)).encode(), 422),
    "negative batch": (json.dumps(_batch(batch=-1)).encode(), 422),
    "not JSON": (b"{", 400),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_batches_get_small_problem_documents(lake, site, name):
    client, token = site
    body, status = HOSTILE[name]
    response = client.post("/collect", content=body, headers={"X-Collector-Token": token,
                                                              "Content-Type": "application/json"})
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json" and len(response.content) < 2000
    assert response.json()["status"] == status
    assert _stored(lake) == []


def test_open_mode_only_when_configured(lake, monkeypatch):
    monkeypatch.setenv("TRACKSCOPE_MOUSE_COLLECTOR_OPEN", "1")
    client = TestClient(create_app(lake, day=lambda: DAY))
    response = client.post("/collect", json=_batch(), headers={"Origin": "http://127.0.0.1:8000"})
    assert response.status_code == 202 and response.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
    (stored,) = _stored(lake)
    assert stored["site"] == "local" and stored["user"] == "alice"
    monkeypatch.delenv("TRACKSCOPE_MOUSE_COLLECTOR_OPEN")
    assert client.post("/collect", json=_batch(batch=1)).status_code == 401  # read at request time


def test_openapi_documents_every_status(lake, site):
    client, _ = site
    responses = client.get("/openapi.json").json()["paths"]["/collect"]["post"]["responses"]
    assert {"200", "202", "400", "401", "403", "413", "422"} <= set(responses)


def test_the_largest_valid_batch_is_under_the_default_cap(lake, site):
    """All text \\u-escaped astral characters, longest numbers: accepted (no 413) at the event cap."""
    client, token = site

    def escaped(text):
        return json.dumps(text)  # ensure_ascii: an astral character is 12 bytes
    astral = "\U0001F600"
    event = ('{"t": 1.2345678901234567e-05, "type": ' + escaped(astral * 16) + ', "button": ' + escaped(astral * 16)
             + ', "x": -1.2345678901234567e-05, "y": -123456789.12345679, "sy": -1.2345678901234567e-05}')
    assert len(event) + 2 <= collector.MAX_EVENT_BYTES
    fields = {"session": astral * 100, "user": astral * 200, "task": astral * 100, "page": astral * 2000,
              "batch": 10_000_000, "consent": True}
    head = json.dumps(fields)[:-1]
    assert len(head) + 20 <= collector.MAX_BATCH_FIELDS_BYTES
    body = head + ', "events": [' + ", ".join([event] * 100) + "]}"
    assert len(body) > 64 * 1024 and len(body) <= collector.default_max_bytes(100)
    response = client.post("/collect", content=body.encode(), headers={"X-Collector-Token": token,
                                                                       "Content-Type": "application/json"})
    assert response.status_code == 202, response.text[:300]
