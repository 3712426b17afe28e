"""`airflow backfill create` of a week of search_auth_daily, executed by a real scheduler
(LocalExecutor, PostgreSQL metadata DB), writes exactly what daily runs of those dates write."""
import dataclasses

import pandas as pd
import pytest

from tests.airflow_run import airflow_env, postgres_metadata_db, run_dag, running_airflow
from transforms.search_auth import schemas, stages
from transforms.search_auth.panel import day_range
from transforms.search_auth.settings import SearchAuthSettings

HISTORY = day_range("2026-01-01", "2026-01-28")  # the 28 days the week's templates look back on
WEEK = day_range("2026-01-29", "2026-02-04")
RERUN = WEEK[:3]  # days an earlier backfill already ran, reprocessed by the week's backfill
OUTPUTS = (schemas.QUERIES, schemas.DAILY_FEATURES, schemas.TEMPLATES)


def _seed_history(settings: SearchAuthSettings) -> None:
    """What the daily runs before the week wrote (the stage functions the DAG tasks call)."""
    for ds in HISTORY:
        stages.ingest_queries(settings, ds)
        stages.build_daily_features(settings, ds)


def _snapshot(lake, spec, days):
    frame = lake.read(spec, days)
    return frame.sort_values(["ds", "user_id"]).reset_index(drop=True).map(
        lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)


@pytest.fixture
def metadata_db():
    sa = pytest.importorskip("sqlalchemy")
    try:
        with postgres_metadata_db() as url:
            yield url
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")


def test_backfilled_week_equals_daily_runs(sa_settings, generated_log, airflow_home, metadata_db, tmp_path):
    daily = sa_settings
    backfilled = dataclasses.replace(sa_settings, lake_uri=(tmp_path / "backfill_lake").as_uri())
    for settings in (daily, backfilled):
        _seed_history(settings)

    backfill_env = airflow_env(tmp_path / "airflow", TRACKSCOPE_LAKE_URI=backfilled.lake_uri,
                               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_db)
    with running_airflow(backfill_env, dag_ids=["search_auth_daily"]) as airflow:
        # an earlier backfill ran the first days of the week ...
        earlier = airflow.backfill("search_auth_daily", RERUN[0], RERUN[-1])
        assert earlier.states == {ds: "success" for ds in RERUN}, earlier.runs

        # (meanwhile, the daily schedule in the other lake: one `airflow dags test` run per date, in
        # order; done here because the scheduler marks a backfill complete only every 30 s)
        daily_env = airflow_env(airflow_home, TRACKSCOPE_LAKE_URI=daily.lake_uri)
        for ds in WEEK:
            run = run_dag(daily_env, "search_auth_daily", logical_date=ds)
            assert run.state == "success", run.output[-3000:]

        # ... and the week's backfill reprocesses them beside the new days
        week = airflow.backfill("search_auth_daily", WEEK[0], WEEK[-1], reprocess_behavior="completed")
        assert week.states == {ds: "success" for ds in WEEK}, week.runs
        assert all(run.states_of("check_templates") == {"success"} for run in week.runs.values())
        assert airflow.try_numbers("search_auth_daily", RERUN[0])["build_daily_features"] == 2
        assert airflow.try_numbers("search_auth_daily", WEEK[-1])["build_daily_features"] == 1

    for spec in OUTPUTS:
        expected, got = _snapshot(daily.lake, spec, WEEK), _snapshot(backfilled.lake, spec, WEEK)
        pd.testing.assert_frame_equal(expected, got, obj=spec.name)
    features = _snapshot(backfilled.lake, schemas.DAILY_FEATURES, WEEK)
    assert not features.duplicated(["ds", "user_id"]).any()
    assert len(_snapshot(backfilled.lake, schemas.TEMPLATES, WEEK)) == len(WEEK) * 12
