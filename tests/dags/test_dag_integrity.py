"""Every DAG file imports fast and without error, and follows the house rules."""
import time
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
MAX_IMPORT_SECONDS = 5.0


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    bag.load_seconds = time.perf_counter() - started
    return bag


def test_dag_files_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dags, "no DAGs found"


def test_dag_files_import_fast(dagbag):
    files = [p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_")]
    assert dagbag.load_seconds < MAX_IMPORT_SECONDS * max(len(files), 1)
    for stats in getattr(dagbag, "dagbag_stats", []):
        assert stats.duration.total_seconds() < MAX_IMPORT_SECONDS, stats


def test_every_dag_file_defines_a_dag(dagbag):
    files = {p.resolve() for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_")}
    with_dags = {Path(d.fileloc).resolve() for d in dagbag.dags.values()}
    assert files <= with_dags, f"DAG files without a DAG: {files - with_dags}"


def test_house_rules(dagbag):
    problems = []
    for dag in dagbag.dags.values():
        if not (dag.doc_md or "").strip():
            problems.append(f"{dag.dag_id}: no doc_md")
        if not dag.tags:
            problems.append(f"{dag.dag_id}: no tags")
        for t in dag.tasks:
            if t.owner in (None, "", "airflow"):
                problems.append(f"{dag.dag_id}.{t.task_id}: owner not set")
            # DAGs tagged "network" talk to the outside: their work tasks retry transient failures;
            # checkpoint tasks never do (a failed expectation is not transient).
            if "network" in dag.tags:
                if t.task_id.startswith("check_") and t.retries:
                    problems.append(f"{dag.dag_id}.{t.task_id}: a checkpoint must not retry")
                elif not t.task_id.startswith("check_") and not t.retries:
                    problems.append(f"{dag.dag_id}.{t.task_id}: touches the network but has no retries")
    assert not problems, "\n".join(problems)


def test_daily_dags_process_the_day_that_ended(dagbag):
    # a DAG with a "ds" param works on one day: its scheduled run must cover a finished day
    from airflow.sdk import CronDataIntervalTimetable

    daily = [d for d in dagbag.dags.values() if "ds" in d.params and d.timetable.can_be_scheduled]
    assert len(daily) >= 8
    for dag in daily:
        assert isinstance(dag.timetable, CronDataIntervalTimetable), dag.dag_id


def test_any_historical_date_can_run(dagbag):
    from datetime import datetime, timezone

    for dag in dagbag.dags.values():
        assert dag.start_date <= datetime(1995, 1, 1, tzinfo=timezone.utc), dag.dag_id
        assert not dag.catchup, f"{dag.dag_id}: catchup would schedule every day since the start date"


def test_partition_params_are_validated_at_trigger(dagbag):
    from transforms.common.keys import DAY_PATTERN, KEY_PATTERN

    for dag in dagbag.dags.values():
        for name, param in dag.params.items():
            schema = dag.params.get_param(name).schema
            if name in ("ds", "first_day"):
                assert schema.get("pattern") == DAY_PATTERN, f"{dag.dag_id}.{name}"
            if name == "crawl_id":
                assert schema.get("pattern") == KEY_PATTERN, f"{dag.dag_id}.{name}"


def test_every_run_stage_path_resolves():
    import importlib
    import re

    for path in DAGS_DIR.glob("*.py"):
        for stage in re.findall(r'run_stage\(\s*"([\w.]+)"', path.read_text()):
            module_name, _, function = stage.rpartition(".")
            module = importlib.import_module(module_name)
            assert callable(getattr(module, function, None)), f"{path.name}: {stage}"
            assert hasattr(module, "SETTINGS"), f"{module_name} has no SETTINGS class"


def test_each_asset_is_declared_once():
    import re

    declared = [p.name for p in DAGS_DIR.glob("*.py") if re.search(r"\bAsset\(", p.read_text())]
    assert not declared, f"assets are declared in transforms/common/dagkit.py, not in {declared}"
