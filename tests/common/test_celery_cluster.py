"""The distributed deployment for real: `scripts/cluster.sh up` (PostgreSQL metadata DB, Redis
broker, scheduler, dag-processor, triggerer, api-server, two Celery workers on different queues)
with the lake on object storage (S3 on loopback). The survey crawls the fixture web with its
mapped crawl batches spread over both workers, then analyses the crawl; search_auth_daily is
backfilled over three dates; `cluster.sh down` stops exactly the processes `up` started."""
import json
import os
import random
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.airflow_run import REPO, AirflowDeployment, free_loopback_port
from tests.s3_server import new_bucket_uri
from transforms.common.lake import Lake
from transforms.search_auth import schemas as sa_schemas
from transforms.survey.fixture_web import TRANCO_FIXTURE_PATH, FixtureWeb

CRAWL = "celery-2026-09"
SA_DAYS = ["2026-01-03", "2026-01-04", "2026-01-05"]


def _reachable(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def services():
    missing = [name for name, port in (("PostgreSQL", 5432), ("Redis", 6379)) if not _reachable(port)]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not running on 127.0.0.1: the Celery deployment needs them")


def _cluster(command: str, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(REPO / "scripts" / "cluster.sh"), command], env=env, capture_output=True,
                          text=True, timeout=timeout)


def _run_state(engine, dag_id: str) -> tuple[str | None, str | None]:
    import sqlalchemy as sa

    with engine.connect() as db:
        row = db.execute(sa.text("SELECT run_id, state FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1"),
                         {"d": dag_id}).first()
    return (row[0], row[1]) if row else (None, None)


def _wait_run(engine, dag_id: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _, state = _run_state(engine, dag_id)
        if state in ("success", "failed"):
            return state
        time.sleep(2)
    raise TimeoutError(f"{dag_id} not finished after {timeout_s}s (state {state})")


def _trigger(env: dict, dag_id: str) -> None:
    done = subprocess.run(["airflow", "dags", "trigger", dag_id, "-c", json.dumps({"crawl_id": CRAWL})], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def _tasks_run_by(log: Path) -> set[tuple[str, str, int]]:
    """(dag_id, task_id, map_index) of every workload a Celery worker executed, from its log."""
    found = re.findall(r"Executing workload in Celery: .*?task_id='([^']+)', dag_id='([^']+)'.*?map_index=(-?\d+)",
                       log.read_text(errors="replace"))
    return {(dag, task, int(index)) for task, dag, index in found}


@pytest.mark.slow
def test_survey_and_backfill_on_celery_with_the_lake_on_s3(services, s3_endpoint, tmp_path):
    import sqlalchemy as sa

    from transforms.synthetic.search_auth_logs import generate

    lake_uri = new_bucket_uri(s3_endpoint)
    sa_input = tmp_path / "sa_input"
    generate(str(sa_input / "log.txt"), n_users=6, n_days=5, start="2026-01-01", seed=4)
    cluster_home = tmp_path / "cluster"
    redis_db = random.randint(10, 15)
    with FixtureWeb() as web:
        env = {**os.environ,
               "CLUSTER_HOME": str(cluster_home), "CLUSTER_DB": f"trackscope_celery_{uuid.uuid4().hex[:8]}",
               "CLUSTER_REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
               "CLUSTER_API_PORT": str(free_loopback_port()), "CLUSTER_CRAWL_CONCURRENCY": "2",
               "CLUSTER_DEFAULT_CONCURRENCY": "2",
               # the deployment runs only what the test triggers or backfills
               "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
               "TRACKSCOPE_LAKE_URI": lake_uri, "TRACKSCOPE_TRANCO_LIST": str(TRANCO_FIXTURE_PATH),
               "TRACKSCOPE_TOP_N": "12", "TRACKSCOPE_CRAWL_BATCH_SIZE": "2", "TRACKSCOPE_BROWSERS_PER_TASK": "1",
               "TRACKSCOPE_HOST_RESOLVER_RULES": web.host_resolver_rules,
               "TRACKSCOPE_CHROMIUM_EXTRA_ARGS": "--ignore-certificate-errors", "TRACKSCOPE_DWELL_S": "1",
               "TRACKSCOPE_PAGE_LOAD_TIMEOUT_S": "20", "TRACKSCOPE_JS_HEAP_LIMIT_MB": "256",
               "TRACKSCOPE_SA_INPUT_DIR": str(sa_input), "TRACKSCOPE_SA_DOC2VEC_DIMS": "16"}
        started = _cluster("up", env)
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        pids = json.loads((cluster_home / "pids.json").read_text())
        cluster = {**os.environ, **json.loads((cluster_home / "cluster.env.json").read_text())}
        engine = sa.create_engine(cluster["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        try:
            _trigger(cluster, "survey_crawl")
            assert _wait_run(engine, "survey_crawl", 1200) == "success"
            # the crawl handed its crawl id on in the asset event the scheduler starts survey_analysis
            # from; this deployment creates no runs by itself (USE_JOB_SCHEDULE off), so start it here
            with engine.connect() as db:
                extras = db.execute(sa.text("SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                                            "WHERE a.name = 'survey_raw_visits'")).scalars().all()
            assert [json.loads(e) if isinstance(e, str) else e for e in extras][-1]["crawl_id"] == CRAWL
            _trigger(cluster, "survey_analysis")
            assert _wait_run(engine, "survey_analysis", 900) == "success"

            deployment = AirflowDeployment(cluster, components={})
            backfill = deployment.backfill("search_auth_daily", SA_DAYS[0], SA_DAYS[-1], timeout_s=900)
            assert backfill.states == {day: "success" for day in SA_DAYS}, backfill.runs
        finally:
            stopped = _cluster("down", env, timeout=120)
            engine.dispose()
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    for name, entry in pids.items():  # every process `up` started is gone
        with pytest.raises(ProcessLookupError):
            os.kill(entry["pid"], 0)

    crawl_worker = _tasks_run_by(cluster_home / "logs" / "worker-crawl.log")
    default_worker = _tasks_run_by(cluster_home / "logs" / "worker-default.log")
    assert {task for _, task, _ in crawl_worker} == {"crawl_batch"}, crawl_worker  # the crawl queue only
    batches_elsewhere = {t for t in default_worker if t[1] == "crawl_batch"}
    assert crawl_worker and batches_elsewhere, "the mapped crawl batches ran on both workers"
    assert {index for *_, index in crawl_worker | batches_elsewhere} == set(range(6))  # 12 sites / 2 per batch
    tasks_elsewhere = {(dag, task) for dag, task, _ in default_worker}
    assert {("survey_analysis", "build_report"), ("search_auth_daily", "check_templates")} <= tasks_elsewhere

    lake = Lake(lake_uri)
    assert lake.current_dir(f"reports/survey/crawl_id={CRAWL}") is not None
    assert lake.partitions(sa_schemas.DAILY_FEATURES) == SA_DAYS

    import sqlalchemy as sa  # noqa: F811 - the deployment's metadata DB is dropped afterwards

    admin = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(sa.text(f'DROP DATABASE IF EXISTS "{env["CLUSTER_DB"]}" WITH (FORCE)'))
    admin.dispose()
