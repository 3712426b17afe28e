"""The shared hostile-client layer: a crash answers a 500 problem with the request id and logs
the traceback frames without the exception's message; bodies are capped; errors never echo."""
import logging

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from transforms.common import webapp

SECRET_UA = "Mozilla/5.0 (secret-user-agent)"


class Item(BaseModel):
    name: str


def _app():
    app = FastAPI()
    webapp.install(app, max_body_bytes=100)

    @app.post("/crash")
    def crash(item: Item):
        raise RuntimeError(f"cannot parse {item.name}")
    return app


def test_crash_is_a_problem_and_logs_no_data(caplog):
    caplog.set_level(logging.DEBUG)
    client = TestClient(_app(), raise_server_exceptions=False)
    response = client.post("/crash", json={"name": SECRET_UA})
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    rid = response.headers["x-request-id"]
    assert rid in response.json()["detail"] and SECRET_UA not in response.text
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert rid in logged and "RuntimeError" in logged and "secret-user-agent" not in logged


def test_limits_and_no_echo():
    client = TestClient(_app())
    assert client.post("/crash", content=b"{" + b" " * 200 + b"}", headers={"Content-Type": "application/json"}).status_code == 413
    body = ('{"name": 1, "' + "x" * 60 + '\\ud800": "\\ud800"}').encode()  # lone surrogates as JSON escapes
    bad = client.post("/crash", content=body, headers={"Content-Type": "application/json"})
    assert bad.status_code == 422 and len(bad.content) < 1000 and "x" * 41 not in bad.text
    assert webapp.safe_text("a\x00\ud800" + "b" * 500, 10) == "a\\x00\\ud800bbbbbbb…"
    assert webapp.text_problem("ok\tfine") is None and webapp.text_problem("a\x00") and webapp.text_problem("\ud800")
