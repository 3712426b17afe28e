"""Run DAGs through real Airflow (``airflow dags test``) from tests and read back task states."""
from __future__ import annotations

import json
import os
import sqlite3
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
    db = sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")
    run_id, state = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id=? ORDER BY id DESC LIMIT 1",
                               (dag_id,)).fetchone()
    states: dict = {}
    for task_id, map_index, ti_state in db.execute(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id=? AND run_id=? ORDER BY map_index",
            (dag_id, run_id)):
        states.setdefault(task_id, []).append(ti_state)
    db.close()
    return DagRunResult(done.returncode, state, states, done.stdout + done.stderr)
