"""Both DAGs run for real in Airflow (``airflow dags test`` against a fresh metadata DB)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from transforms.member_id import stages
from transforms.member_id.schemas import ENRICHED

from .conftest import DAY_NAMES, ingest_and_enrich, small_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def airflow_env(world, tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
           "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "False",
           "TRACKSCOPE_LAKE_URI": (home / "lake").as_uri(), "TRACKSCOPE_MID_LOG_DIR": str(world / "logs"),
           "TRACKSCOPE_MID_CITY_MMDB": str(world / "City.mmdb"), "TRACKSCOPE_MID_ISP_MMDB": str(world / "ISP.mmdb"),
           "TRACKSCOPE_MID_API_DB_URL": f"sqlite:///{home / 'api.sqlite'}", "TRACKSCOPE_MID_TRAIN_DAYS": "3",
           "TRACKSCOPE_MID_TRAIN_PAIRS": "6000", "TRACKSCOPE_MID_PAIR_CHUNK": "3000", "TRACKSCOPE_MID_MLP_HIDDEN": "16",
           "TRACKSCOPE_MID_MLP_EPOCHS": "1"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=240)
    return env, airflow


def dags_test(airflow_env, dag_id, day):
    env, airflow = airflow_env
    done = subprocess.run([airflow, "dags", "test", dag_id, day], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "state=success" in done.stdout + done.stderr, (done.stdout + done.stderr)[-3000:]


def test_ingest_then_retrain_dags(airflow_env, world):
    env = airflow_env[0]
    settings = small_settings(world, env["TRACKSCOPE_LAKE_URI"])
    dags_test(airflow_env, "member_id_ingest", DAY_NAMES[-1])  # the logical date picks the partition
    assert settings.lake.partitions(ENRICHED) == [DAY_NAMES[-1]]
    for ds in DAY_NAMES[:-1]:  # earlier days in process, to keep the test short
        ingest_and_enrich(settings, ds)
    dags_test(airflow_env, "member_id_retrain", DAY_NAMES[-1])
    report = settings.lake.read_json(f"reports/member_id/ds={DAY_NAMES[-1]}/metrics.json")
    assert report["test_day"] == DAY_NAMES[-1] and set(report["models"]) == {"gbm", "mlp"}
    from transforms.common.models import ModelRegistry

    assert ModelRegistry(settings.lake, stages.MODEL_NAME).current_version() == report["candidate_version"]


def test_api_purge_dag_erases_old_raw_fields(airflow_env):
    """The hourly member_id_api_purge DAG, run by Airflow on the API's request store."""
    from transforms.member_id.api import db

    from .test_api_hostile import finished_requests

    engine = db.connect(airflow_env[0]["TRACKSCOPE_MID_API_DB_URL"])
    old, recent = finished_requests(engine, [7.5, 0.5])
    dags_test(airflow_env, "member_id_api_purge", DAY_NAMES[-1])
    assert db.fetch(engine, old)["user_agent"] == "" and db.fetch(engine, old)["purged_at"]
    assert db.fetch(engine, recent)["user_agent"] == "ua"
    engine.dispose()
