"""A distributed trackscope deployment on one or more hosts, without Docker.

    python scripts/cluster.py up       # metadata DB, migrate, then every component; waits until healthy
    python scripts/cluster.py status   # each component's PID, whether it runs, the API server's health
    python scripts/cluster.py down     # stops exactly the processes `up` started (by their PIDs)

Components: scheduler, dag-processor, triggerer, api-server and two Celery workers — one on the
``crawl`` queue (browser work: the survey's crawl batches), one on ``default,crawl`` — with
CeleryExecutor, a PostgreSQL metadata DB of its own on the configured server and a Redis broker
(a DB number of its own). Everything is configured by environment variables (defaults in
brackets); the resulting client environment is written to ``$CLUSTER_HOME/cluster.env`` —
``set -a; source var/cluster/cluster.env; set +a`` then use the ``airflow`` CLI against the cluster.

  CLUSTER_HOME [<repo>/var/cluster]          state: airflow home, logs, pids.json, cluster.env
  CLUSTER_PG_ADMIN_URL [postgresql+psycopg2://postgres@127.0.0.1:5432/postgres]
  CLUSTER_DB [trackscope_cluster]            metadata database (created if missing)
  CLUSTER_REDIS_URL [redis://127.0.0.1:6379/6]
  CLUSTER_API_PORT [8090]   CLUSTER_CRAWL_CONCURRENCY [2]   CLUSTER_DEFAULT_CONCURRENCY [2]
  CLUSTER_DEFAULT_QUEUES [default,crawl]     queues of the second worker ("default": crawls on one worker only)
  TRACKSCOPE_LAKE_URI and any other TRACKSCOPE_* / AWS_* / AIRFLOW__* variable are passed to every
  component. New DAGs start paused (Airflow's default): unpause the ones this deployment runs.
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMPONENTS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "worker-crawl": ["celery", "worker", "--queues", "crawl", "--celery-hostname", "crawl@%h", "--skip-serve-logs"],
    "worker-default": ["celery", "worker", "--queues", "default,crawl", "--celery-hostname", "default@%h",
                       "--skip-serve-logs"],
}
HEALTH = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}


def home() -> Path:
    return Path(os.environ.get("CLUSTER_HOME") or REPO / "var" / "cluster")


def _setting(name: str, default: str) -> str:
    return os.environ.get(name) or default


def cluster_env() -> dict:
    """The environment every component and client uses (persisted so `down`/clients agree)."""
    saved = home() / "cluster.env.json"
    if saved.exists():
        return {**os.environ, **json.loads(saved.read_text())}
    admin = _setting("CLUSTER_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    database = admin.rsplit("/", 1)[0] + "/" + _setting("CLUSTER_DB", "trackscope_cluster")
    port = _setting("CLUSTER_API_PORT", "8090")
    base_url = f"http://127.0.0.1:{port}"
    env = {
        "AIRFLOW_HOME": str(home() / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"), "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__CELERY__BROKER_URL": _setting("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/6"),
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database,
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": "default",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": _setting("CLUSTER_DEFAULT_CONCURRENCY", "2"),
        "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": port, "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": base_url, "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        # a busy API server answers task processes slower than Airflow's 5 s default allows
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": _setting("CLUSTER_EXECUTION_API_TIMEOUT", "30"),
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    }
    passed = {k: v for k, v in os.environ.items() if k.startswith(("TRACKSCOPE_", "AWS_", "AIRFLOW__"))}
    env.update(passed)
    home().mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(env, indent=1))
    (home() / "cluster.env").write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(env.items())))
    return {**os.environ, **env}


def _create_database(env: dict) -> None:
    import sqlalchemy as sa

    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    admin_url, name = url.rsplit("/", 1)[0] + "/postgres", url.rsplit("/", 1)[1]
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        if not db.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            db.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _pids() -> dict:
    path = home() / "pids.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _health(env: dict) -> dict:
    try:
        with urllib.request.urlopen(f"{env['AIRFLOW__API__BASE_URL']}/api/v2/monitor/health", timeout=5) as answer:
            return json.load(answer)
    except (OSError, ValueError):
        return {}


def _workers_answering(env: dict) -> set:
    """Celery node names that answer a ping (both workers must have joined the broker)."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("AIRFLOW__")})  # before Airflow reads its config
    from airflow.providers.celery.executors.celery_executor_utils import app

    replies = app.control.ping(timeout=2) or []
    return {name for reply in replies for name in reply}


def up(timeout_s: float = 240) -> int:
    if any(_alive(p["pid"]) for p in _pids().values()):
        print(f"cluster already running ({home()}); `down` first")
        return 1
    env = cluster_env()
    port = int(env["AIRFLOW__API__PORT"])
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            print(f"[cluster] port {port} is taken: set CLUSTER_API_PORT")
            return 1
    _create_database(env)
    logs = home() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"[cluster] migrating {env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN']}")
    subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    pids, processes = {}, {}
    for name, arguments in COMPONENTS.items():
        component_env = dict(env)
        if name == "worker-crawl":
            component_env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = _setting("CLUSTER_CRAWL_CONCURRENCY", "2")
        if name == "worker-default":
            arguments = [*arguments[:3], _setting("CLUSTER_DEFAULT_QUEUES", "default,crawl"), *arguments[4:]]
        with open(logs / f"{name}.log", "ab") as log_file:
            process = subprocess.Popen(["airflow", *arguments], env=component_env, stdout=log_file,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        processes[name] = process
        # start_new_session: the component leads a process group of its own, whose id is its pid
        # (os.getpgid right after Popen could still see ours, before the child's setsid)
        pids[name] = {"pid": process.pid, "pgid": process.pid, "command": ["airflow", *arguments]}
        print(f"[cluster] {name}: pid {process.pid}")
    (home() / "pids.json").write_text(json.dumps(pids, indent=1))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = [n for n, p in processes.items() if p.poll() is not None]
        if dead:
            print(f"[cluster] exited: {dead}; see {logs}")
            down()
            return 1
        health = _health(env)
        healthy = health and all((health.get(k) or {}).get("status") == "healthy"
                                 for k in ["metadatabase", *HEALTH.values()])
        if healthy and len(_workers_answering(env)) >= 2:
            print(f"[cluster] healthy: API {env['AIRFLOW__API__BASE_URL']}, workers {sorted(_workers_answering(env))}")
            print(f"[cluster] client environment: set -a; source {home() / 'cluster.env'}; set +a")
            return 0
        time.sleep(2)
    print(f"[cluster] not healthy after {timeout_s}s: {_health(env)}; see {logs}")
    return 1


def down(grace_s: float = 30) -> int:
    """SIGTERM to each started component's process group, SIGKILL after the grace period."""
    pids = _pids()
    for name, entry in pids.items():
        if _alive(entry["pid"]):
            try:
                os.killpg(entry["pgid"], signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(e["pid"]) for e in pids.values()):
        time.sleep(0.5)
    for name, entry in pids.items():
        try:
            os.killpg(entry["pgid"], signal.SIGKILL)  # stragglers of the group (forked task processes)
        except ProcessLookupError:
            pass
        print(f"[cluster] {name}: pid {entry['pid']} stopped")
    (home() / "pids.json").unlink(missing_ok=True)
    (home() / "cluster.env.json").unlink(missing_ok=True)
    return 0


def status() -> int:
    pids = _pids()
    if not pids:
        print(f"[cluster] not running ({home()})")
        return 1
    env = cluster_env()
    for name, entry in pids.items():
        print(f"{name:15} pid {entry['pid']:>7}  {'running' if _alive(entry['pid']) else 'EXITED'}")
    health = _health(env)
    print("health:", {k: (v or {}).get("status") for k, v in health.items()} if health else "API server not answering")
    return 0 if all(_alive(e["pid"]) for e in pids.values()) and health else 1


if __name__ == "__main__":
    commands = {"up": up, "down": down, "status": status}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
