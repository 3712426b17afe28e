"""Run DAGs through real Airflow from tests and read back task states: one run in-process with
``airflow dags test`` (:func:`run_dag`), or a running deployment (scheduler, DAG processor, API
server as subprocesses) for what only the scheduler does, such as backfills (:func:`running_airflow`)."""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

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
            timeout: int = 900, mark_success_pattern: str | None = None) -> DagRunResult:
    """One run of ``dag_id`` in-process (``airflow dags test``); tasks whose id matches
    ``mark_success_pattern`` are marked successful without running."""
    command = ["airflow", "dags", "test", dag_id]
    if logical_date:
        command.append(logical_date)
    if conf:
        command += ["-c", json.dumps(conf)]
    if mark_success_pattern:
        command += ["--mark-success-pattern", mark_success_pattern]
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


# --- A running Airflow deployment (scheduler, DAG processor, API server) for backfills -----------

POSTGRES_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
TERMINAL_RUN_STATES = {"success", "failed"}
# the components a LocalExecutor deployment needs, with their arguments: the scheduler's log server
# (bound to every interface on a fixed port) is left out, the API server reads the task logs from disk
COMPONENTS = {"api-server": [], "scheduler": ["--skip-serve-logs"], "dag-processor": []}
# what the API server's /monitor/health calls each component
_HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}


@contextmanager
def postgres_metadata_db(admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[str]:
    """A throwaway PostgreSQL database for one Airflow deployment; dropped afterwards, even on failure.
    Raises ``sqlalchemy.exc.OperationalError`` when the server cannot be reached."""
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"trackscope_airflow_{uuid.uuid4().hex[:10]}"
    with admin.connect() as db:
        db.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as db:
            db.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def deployment_env(env: dict, port: int) -> dict:
    """``env`` plus what a LocalExecutor deployment on one loopback port needs: task processes reach
    the Execution API of the API server there, all components sign/verify with one JWT secret, and
    the scheduler creates no runs on its own (only backfills and triggers run, DAGs start unpaused)."""
    base_url = f"http://127.0.0.1:{port}"
    return {**env,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": base_url, "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            # parse the DAG folder once: a test's DAG files do not change while it runs
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


@dataclass
class BackfillResult:
    backfill_id: int
    output: str  # what `airflow backfill create` printed
    runs: dict  # logical date (YYYY-MM-DD) -> DagRunResult of the run the backfill made or reran

    @property
    def states(self) -> dict:
        return {day: run.state for day, run in self.runs.items()}


class AirflowDeployment:
    """Airflow components running as subprocesses on one AIRFLOW_HOME; see :func:`running_airflow`."""

    def __init__(self, env: dict, components: dict):
        self.env = env
        self.home = Path(env["AIRFLOW_HOME"])
        self.log_dir = self.home / "component-logs"
        self.base_url = env["AIRFLOW__API__BASE_URL"]
        self.components = components
        self.processes: dict = {}

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, arguments in self.components.items():
            with open(self.log_dir / f"{name}.log", "wb") as log_file:
                # own process group, so stop() reaches the workers each component forks
                self.processes[name] = subprocess.Popen(["airflow", name, *arguments], env=self.env,
                                                        stdout=log_file, stderr=subprocess.STDOUT,
                                                        start_new_session=True)

    def stop(self, grace_s: float = 30) -> None:
        """SIGTERM to each component's process group, SIGKILL to what is still there after ``grace_s``."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # stragglers of the group, if any
            process.wait()

    def _check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow component(s) exited: {dead}")

    def wait_healthy(self, timeout_s: float = 180) -> dict:
        """Until the API server answers and reports every started component healthy."""
        wanted = [_HEALTH_KEYS[name] for name in self.components if name in _HEALTH_KEYS]
        deadline, health = time.monotonic() + timeout_s, {}
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/v2/monitor/health", timeout=5) as answer:
                    health = json.load(answer)
            except (OSError, ValueError):
                health = {}
            if health and all((health.get(key) or {}).get("status") == "healthy"
                              for key in ["metadatabase", *wanted]):
                return health
            time.sleep(1)
        raise TimeoutError(f"Airflow not healthy after {timeout_s}s: {health}")

    def wait_for_dags(self, dag_ids, timeout_s: float = 180) -> None:
        """Until the DAG processor has serialized ``dag_ids`` (backfills and triggers need them)."""
        import sqlalchemy as sa

        deadline, found = time.monotonic() + timeout_s, set()
        engine = sa.create_engine(metadata_url(self.env))
        try:
            while time.monotonic() < deadline:
                self._check_alive()
                with engine.connect() as db:
                    found = set(db.execute(sa.text("SELECT dag_id FROM serialized_dag")).scalars())
                if set(dag_ids) <= found:
                    return
                time.sleep(1)
        finally:
            engine.dispose()
        raise TimeoutError(f"DAGs {sorted(set(dag_ids) - found)} not parsed after {timeout_s}s "
                           f"(import errors: {self._import_errors()})")

    # -- work -------------------------------------------------------------------------------------
    def backfill(self, dag_id: str, from_date: str, to_date: str, *, max_active_runs: int = 1,
                 reprocess_behavior: str | None = None, timeout_s: float = 600) -> BackfillResult:
        """``airflow backfill create`` for [from_date, to_date] (inclusive), then wait until the scheduler
        has finished every run it made or reran. Airflow allows one unfinished backfill per DAG and the
        scheduler marks one finished only every 30 s, so a previous backfill is waited for first."""
        self._wait_backfills_complete(dag_id, timeout_s)
        command = ["airflow", "backfill", "create", "--dag-id", dag_id, "--from-date", from_date,
                   "--to-date", to_date, "--max-active-runs", str(max_active_runs)]
        if reprocess_behavior:
            command += ["--reprocess-behavior", reprocess_behavior]
        created = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=300)
        output = created.stdout + created.stderr
        if created.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{output[-3000:]}")
        # the command returns once every run is created or cleared (queued): all are in the table now
        backfill_id = self._latest_backfill(dag_id)
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_alive()
            runs = self._backfill_runs(backfill_id)
            if all(run.state in TERMINAL_RUN_STATES for run in runs.values()):
                return BackfillResult(backfill_id, output, runs)
            if time.monotonic() > deadline:
                raise TimeoutError(f"backfill {backfill_id} of {dag_id} not finished after {timeout_s}s: "
                                   f"{ {day: (r.state, r.task_states) for day, r in runs.items()} }")
            time.sleep(1)

    def _wait_backfills_complete(self, dag_id: str, timeout_s: float) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(metadata_url(self.env))
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                with engine.connect() as db:
                    active = db.execute(sa.text("SELECT count(*) FROM backfill WHERE dag_id = :d AND "
                                                "completed_at IS NULL"), {"d": dag_id}).scalar()
                if not active:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{active} backfill(s) of {dag_id} still not complete after {timeout_s}s")
                self._check_alive()
                time.sleep(1)
        finally:
            engine.dispose()

    def _latest_backfill(self, dag_id: str) -> int:
        import sqlalchemy as sa

        engine = sa.create_engine(metadata_url(self.env))
        with engine.connect() as db:
            backfill_id = db.execute(sa.text("SELECT max(id) FROM backfill WHERE dag_id = :d"), {"d": dag_id}).scalar()
        engine.dispose()
        if backfill_id is None:
            raise RuntimeError(f"no backfill recorded for {dag_id}")
        return backfill_id

    def _backfill_runs(self, backfill_id: int) -> dict:
        import sqlalchemy as sa

        engine = sa.create_engine(metadata_url(self.env))
        with engine.connect() as db:
            rows = db.execute(sa.text(
                "SELECT r.logical_date, r.state, ti.task_id, ti.state FROM backfill_dag_run b "
                "JOIN dag_run r ON r.id = b.dag_run_id "
                "LEFT JOIN task_instance ti ON ti.dag_id = r.dag_id AND ti.run_id = r.run_id "
                "WHERE b.backfill_id = :b ORDER BY r.logical_date, ti.map_index"), {"b": backfill_id}).all()
        engine.dispose()
        runs: dict = {}
        for logical_date, run_state, task_id, ti_state in rows:
            day = logical_date.strftime("%Y-%m-%d")
            run = runs.setdefault(day, DagRunResult(0, run_state, {}, ""))
            if task_id is not None:
                run.task_states.setdefault(task_id, []).append(ti_state)
        return runs

    def try_numbers(self, dag_id: str, logical_date: str) -> dict:
        """task_id -> try number in the run of ``logical_date`` (2 after one rerun)."""
        import sqlalchemy as sa

        engine = sa.create_engine(metadata_url(self.env))
        with engine.connect() as db:
            rows = db.execute(sa.text(
                "SELECT ti.task_id, max(ti.try_number) FROM task_instance ti JOIN dag_run r "
                "ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id WHERE r.dag_id = :d "
                "AND CAST(r.logical_date AS DATE) = CAST(:day AS DATE) GROUP BY ti.task_id"),
                {"d": dag_id, "day": logical_date}).all()
        engine.dispose()
        return dict(rows)

    def _import_errors(self) -> list:
        import sqlalchemy as sa

        engine = sa.create_engine(metadata_url(self.env))
        with engine.connect() as db:
            errors = db.execute(sa.text("SELECT filename, stacktrace FROM import_error")).all()
        engine.dispose()
        return [f"{name}: {trace[-500:]}" for name, trace in errors]

    # -- diagnosis --------------------------------------------------------------------------------
    def logs(self, tail_lines: int = 60, task_logs: int = 5) -> str:
        """The last lines of each component's log and of the newest task logs."""
        parts = []
        for name in self.components:
            parts.append(f"===== {name} =====\n{_tail(self.log_dir / f'{name}.log', tail_lines)}")
        newest = sorted((self.home / "logs").glob("dag_id=*/**/*.log"), key=lambda p: p.stat().st_mtime)
        for path in newest[-task_logs:]:
            parts.append(f"===== task log {path.relative_to(self.home)} =====\n{_tail(path, tail_lines)}")
        return "\n".join(parts)


@contextmanager
def running_airflow(env: dict, dag_ids=(), components: dict | None = None,
                    startup_timeout_s: float = 180) -> Iterator[AirflowDeployment]:
    """Migrate the metadata DB of ``env`` (its AIRFLOW_HOME and SQL_ALCHEMY_CONN), start ``components``
    (name -> arguments, default :data:`COMPONENTS`) as subprocesses with a LocalExecutor on a free
    loopback port, wait until they are healthy and ``dag_ids`` are parsed, and stop them all afterwards.
    On any failure inside, the components' and newest tasks' log tails go to stderr (pytest shows
    them with the failure)."""
    deployment = AirflowDeployment(deployment_env(env, free_loopback_port()), dict(components or COMPONENTS))
    migrate(deployment.env)
    try:
        deployment.start()
        deployment.wait_healthy(startup_timeout_s)
        deployment.wait_for_dags(dag_ids, startup_timeout_s)
        yield deployment
    except BaseException:
        print(deployment.logs(), file=sys.stderr)
        raise
    finally:
        deployment.stop()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the group is the component's own (start_new_session)
    except ProcessLookupError:
        pass


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"({exc})"
