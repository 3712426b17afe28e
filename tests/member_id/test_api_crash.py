"""kill -9 of the API process mid-batch, with pending requests, on PostgreSQL: after a restart
every accepted request is answered exactly once (a trigger logs every write of a final status)."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from transforms.member_id.api import db

from .api_fixtures import pg_database
from .test_api import known_access

FINISH_LOG = """
CREATE TABLE mid_finish_log (key VARCHAR(32), status VARCHAR(16), at TIMESTAMP DEFAULT clock_timestamp());
CREATE FUNCTION log_finish() RETURNS trigger AS $$
BEGIN INSERT INTO mid_finish_log (key, status) VALUES (NEW.key, NEW.status); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER mid_finish AFTER UPDATE ON mid_requests FOR EACH ROW
WHEN (NEW.status IN ('success', 'error') AND NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION log_finish();
"""


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(settings, url: str, port: int, workers: int = 2) -> subprocess.Popen:
    env = {**os.environ, "TRACKSCOPE_MID_API_DB_URL": url, "TRACKSCOPE_LAKE_URI": settings.lake_uri,
           "TRACKSCOPE_MID_CITY_MMDB": settings.mid_city_mmdb, "TRACKSCOPE_MID_ISP_MMDB": settings.mid_isp_mmdb,
           "TRACKSCOPE_MID_API_LEASE_S": "10", "TRACKSCOPE_MID_API_WORKERS": str(workers)}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "transforms.member_id.api.app:create_app_from_settings",
                                "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"API did not start: {process.stderr.read().decode()[-2000:]}")


@pytest.mark.slow
def test_kill_9_mid_batch_every_accepted_request_answered_once(trained):
    url, drop = pg_database()
    engine = db.connect(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(FINISH_LOG))
        raw = db.create_key(engine, "shop", rate_per_minute=100_000)
        headers = {"X-API-Key": raw}
        access = known_access(trained)
        port = _port()
        first = _start(trained[0], url, port, workers=1)  # one worker: the senders keep a queue
        accepted, lock, stop = [], threading.Lock(), threading.Event()

        def submit():
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
                while not stop.is_set():
                    try:
                        response = client.post("/v1/estimations", json=access)
                    except httpx.TransportError:
                        return  # the server is gone
                    if response.status_code == 202:
                        with lock:
                            accepted.append(response.json()["key"])
        senders = [threading.Thread(target=submit) for _ in range(6)]
        for sender in senders:
            sender.start()
        while len(accepted) < 400 and first.poll() is None:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)  # kill -9 while clients are still sending and workers estimating
        first.wait()
        stop.set()
        for sender in senders:
            sender.join()
        with engine.connect() as conn:
            states = dict(conn.execute(sa.text("SELECT status, count(*) FROM mid_requests GROUP BY status")).all())
        unfinished = states.get("pending", 0) + states.get("processing", 0)
        assert unfinished > 0, f"nothing was pending at the kill: {states}"

        second = _start(trained[0], url, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
                answers = {key: client.get(f"/v1/estimations/{key}", params={"wait": 30}).json() for key in accepted}
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        errors = {a["error"] for a in answers.values() if a["status"] != "success"}
        assert not errors, errors
        with engine.connect() as conn:
            writes = dict(conn.execute(sa.text("SELECT key, count(*) FROM mid_finish_log GROUP BY key")).all())
            stored = conn.execute(sa.text("SELECT count(*) FROM mid_requests")).scalar()
            final = conn.execute(sa.text("SELECT count(*) FROM mid_requests WHERE status IN ('success', 'error')")).scalar()
        assert all(writes.get(key) == 1 for key in accepted)  # each accepted request answered exactly once
        assert set(writes.values()) == {1} and final == stored  # ... and so was every stored one
        print(f"accepted {len(accepted)}, unfinished at the kill {unfinished} ({states})")
    finally:
        engine.dispose()
        drop()
