"""Run DAGs through real Airflow (``airflow dags test``) from tests and read back task states."""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class DagRunResult:
    returncode: int
    state: str
    task_states: dict  # task_id -> list of states (one per map index)
    output: str

    def states_of(self, task_id: str) -> set:
        return set(self.task_states.get(task_id, []))


def airflow_env(home: Path, **extra: str) -> dict:
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "False",
    })
    env.update(extra)
    return env


def migrate(env: dict) -> None:
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)


def run_dag(env: dict, dag_id: str, conf: dict | None = None, logical_date: str | None = None,
            timeout: int = 900) -> DagRunResult:
    command = ["airflow", "dags", "test", dag_id]
    if logical_date:
        command.append(logical_date)
    if conf:
        command += ["-c", json.dumps(conf)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    state, states = _run_states(env, dag_id)
    return DagRunResult(done.returncode, state, states, done.stdout + done.stderr)


def metadata_url(env: dict) -> str:
    return env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or f"sqlite:///{Path(env['AIRFLOW_HOME']) / 'airflow.db'}"


def _run_states(env: dict, dag_id: str) -> tuple[str, dict]:
    """State of the DAG's latest run and of its task instances, read from the metadata DB."""
    import sqlalchemy as sa

    engine = sa.create_engine(metadata_url(env))
    with engine.connect() as db:
        run_id, state = db.execute(sa.text(
            "SELECT run_id, state FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1"), {"d": dag_id}).one()
        rows = db.execute(sa.text(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = :d AND run_id = :r "
            "ORDER BY map_index"), {"d": dag_id, "r": run_id}).all()
    engine.dispose()
    states: dict = {}
    for task_id, _, ti_state in rows:
        states.setdefault(task_id, []).append(ti_state)
    return state, states
