"""The survey crawl through a real CeleryExecutor deployment (``scripts/cluster.py``) on the fixture
web: what ``bench/crawl_throughput.py --executor celery`` measures next to its in-process run.

The deployment gets a metadata DB, Redis DB number, API port and lake of its own and is torn down
afterwards. Sites/hour is the crawled sites over the ``survey_crawl`` run's wall time (scheduler
queueing, mapped-task start-up and the checkpoint included: what an operator waits for).
"""
from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CRAWL_ID = "bench-celery"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cluster(command: str, env: dict) -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "cluster.py"), command], env=env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"cluster {command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _wait(engine, timeout_s: float) -> tuple[str, float]:
    import sqlalchemy as sa

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with engine.connect() as db:
            row = db.execute(sa.text("SELECT state, start_date, end_date FROM dag_run WHERE dag_id = 'survey_crawl' "
                                     "ORDER BY id DESC LIMIT 1")).first()
        if row and row[0] in ("success", "failed"):
            return row[0], (row[2] - row[1]).total_seconds()
        time.sleep(2)
    raise TimeoutError(f"survey_crawl not finished after {timeout_s:.0f}s")


def crawl_on_celery(sites: list[dict], web, workers: int, browsers_per_task: int, dwell_s: float,
                    timeout_s: float) -> dict:
    """Crawl ``sites`` (rank, domain) with ``workers`` Celery workers taking crawl batches; returns
    ``{"visited", "seconds", "sites_per_hour", "state"}``."""
    import sqlalchemy as sa

    if workers not in (1, 2):
        raise ValueError("the deployment has two workers: --workers 1 (crawl queue only) or 2 (both take crawl batches)")
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as tmp:
        tranco = Path(tmp) / "tranco.csv"
        tranco.write_text("".join(f"{i},{s['domain']}\n" for i, s in enumerate(sites, 1)))
        batches = workers * 2  # two concurrent tasks per worker (CLUSTER_*_CONCURRENCY)
        database = f"trackscope_bench_{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "CLUSTER_HOME": str(Path(tmp) / "cluster"), "CLUSTER_DB": database,
               "CLUSTER_REDIS_URL": f"redis://127.0.0.1:6379/{random.randint(10, 15)}",
               "CLUSTER_API_PORT": str(_free_port()), "CLUSTER_CRAWL_CONCURRENCY": "2",
               "CLUSTER_DEFAULT_CONCURRENCY": "2", "CLUSTER_DEFAULT_QUEUES": "default,crawl" if workers == 2 else "default",
               "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
               "TRACKSCOPE_LAKE_URI": (Path(tmp) / "lake").as_uri(), "TRACKSCOPE_TRANCO_LIST": str(tranco),
               "TRACKSCOPE_TOP_N": str(len(sites)), "TRACKSCOPE_JP_WITHIN_TOP": "0", "TRACKSCOPE_OTHER_TOP": "0",
               "TRACKSCOPE_CRAWL_BATCH_SIZE": str(math.ceil(len(sites) / batches)),
               "TRACKSCOPE_BROWSERS_PER_TASK": str(browsers_per_task),
               "TRACKSCOPE_HOST_RESOLVER_RULES": web.host_resolver_rules,
               "TRACKSCOPE_CHROMIUM_EXTRA_ARGS": "--ignore-certificate-errors",
               "TRACKSCOPE_DWELL_S": str(dwell_s), "TRACKSCOPE_PAGE_LOAD_TIMEOUT_S": str(timeout_s)}
        _cluster("up", env)
        cluster = {**os.environ, **json.loads((Path(tmp) / "cluster" / "cluster.env.json").read_text())}
        engine = sa.create_engine(cluster["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        try:
            subprocess.run(["airflow", "dags", "trigger", "survey_crawl", "-c", json.dumps({"crawl_id": CRAWL_ID})],
                           env=cluster, check=True, capture_output=True, timeout=300)
            state, seconds = _wait(engine, 3600)
        finally:
            engine.dispose()
            _cluster("down", env)
            admin = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as db:
                db.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()
        visited = len(list((Path(tmp) / "lake" / "raw" / "survey" / f"crawl_id={CRAWL_ID}").rglob("*.json")))
    return {"visited": visited, "seconds": seconds, "sites_per_hour": visited / seconds * 3600 if seconds else 0.0,
            "state": state}
