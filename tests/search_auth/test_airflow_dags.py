"""The search-auth DAGs through real Airflow (`airflow dags test`), and backfill == daily runs."""
import os
from pathlib import Path

import pandas as pd

from tests.airflow_run import airflow_env, run_dag
from transforms.search_auth import schemas, stages
from transforms.search_auth.panel import day_range


def test_daily_and_retrain_dags_succeed_in_airflow(sa_settings, generated_log, airflow_home):
    # earlier days straight through the stage functions (what earlier daily runs wrote) ...
    for ds in day_range("2026-01-01", "2026-02-03"):
        stages.ingest_queries(sa_settings, ds)
        stages.build_daily_features(sa_settings, ds)
    env = airflow_env(airflow_home, **{k: v for k, v in os.environ.items()
                                       if k.startswith("TRACKSCOPE_")})
    stages.ingest_queries(sa_settings, "2026-02-04")
    stages.build_daily_features(sa_settings, "2026-02-04")
    # ... then Airflow: retraining + gate, and the daily DAG for its logical date using the model
    retrain = run_dag(env, "search_auth_retrain", conf={"ds": "2026-02-04"})
    assert retrain.state == "success", retrain.output[-3000:]
    assert retrain.states_of("promotion_gate") == {"success"}
    daily = run_dag(env, "search_auth_daily", logical_date="2026-02-05")
    assert daily.state == "success", daily.output[-3000:]
    lake = sa_settings.lake
    assert len(lake.read_partition(schemas.DAILY_FEATURES, "2026-02-05")) == 12
    assert daily.states_of("check_templates") == {"success"}
    templates = lake.read_partition(schemas.TEMPLATES, "2026-02-05")
    assert len(templates) == 12 and templates["self_sim_query"].notna().all()
    assert lake.exists(lake.path("models/search_auth/current.json"))


def test_dag_structure_checkpoints_gate_templates():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).parents[2] / "dags"))
    daily = bag.dags["search_auth_daily"]
    assert "check_daily_features" in daily.get_task("rebuild_templates").upstream_task_ids
    assert "check_queries" in daily.get_task("build_daily_features").upstream_task_ids
    assert bag.dags["search_auth_retrain"].get_task("promotion_gate").upstream_task_ids == {"retrain"}


def _snapshot(lake, spec, days):
    frame = lake.read(spec, days)
    return frame.sort_values(["ds", "user_id"]).reset_index(drop=True).map(
        lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)


def test_backfilled_week_equals_daily_runs(sa_settings, generated_log, tmp_path):
    week = day_range("2026-01-29", "2026-02-04")
    history = day_range("2026-01-01", "2026-01-28")
    daily_lake = sa_settings
    backfill = sa_settings.__class__(**{**sa_settings.__dict__, "lake_uri": (tmp_path / "other").as_uri()})
    for settings in (daily_lake, backfill):
        for ds in history:
            stages.ingest_queries(settings, ds)
            stages.build_daily_features(settings, ds)
    for ds in week:  # the daily schedule, in order
        for stage in ("ingest_queries", "build_daily_features", "rebuild_templates"):
            getattr(stages, stage)(daily_lake, ds)
    for ds in week + week[:3]:  # a backfill (in date order, as Airflow runs it), some days twice
        for stage in ("ingest_queries", "build_daily_features", "rebuild_templates"):
            getattr(stages, stage)(backfill, ds)
    for spec in (schemas.QUERIES, schemas.DAILY_FEATURES, schemas.TEMPLATES):
        pd.testing.assert_frame_equal(_snapshot(daily_lake.lake, spec, week), _snapshot(backfill.lake, spec, week))
    assert len(_snapshot(backfill.lake, schemas.TEMPLATES, week)) == 7 * 12
