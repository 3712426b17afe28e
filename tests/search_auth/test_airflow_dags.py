"""The search-auth DAGs through real Airflow (`airflow dags test`); backfills: test_airflow_backfill.py."""
import os
from pathlib import Path

import pandas as pd

from tests.airflow_run import airflow_env, run_dag
from tests.search_auth.conftest import seed_days
from transforms.search_auth import schemas, stages
from transforms.common.days import day_range


def test_daily_and_retrain_dags_succeed_in_airflow(sa_settings, generated_log, airflow_home):
    # earlier days straight through the stage functions (what earlier daily runs wrote) ...
    seed_days(sa_settings, day_range("2026-01-01", "2026-02-03"))
    env = airflow_env(airflow_home, **{k: v for k, v in os.environ.items()
                                       if k.startswith("TRACKSCOPE_")})
    seed_days(sa_settings, ["2026-02-04"])
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


def test_failing_feature_checkpoint_blocks_templates(sa_settings, generated_log, airflow_home):
    """A features partition with a duplicate user-day row and an hour vector that does not sum to the
    count (as a foreign or older writer could leave it: the pipeline's own features always pass) fails
    check_daily_features in an Airflow run; rebuild_templates and check_templates do not run."""
    ds = "2026-01-20"
    seed_days(sa_settings, [ds])
    lake = sa_settings.lake
    features = lake.read_partition(schemas.DAILY_FEATURES, ds).drop(columns="ds", errors="ignore")
    duplicated_user, skewed_user = features["user_id"].iloc[0], features["user_id"].iloc[1]
    skewed = features.index[1]
    vector = list(features.at[skewed, "hour_vector"])
    vector[int(max(range(24), key=vector.__getitem__))] -= 1  # one search lost from its hour bin
    features.at[skewed, "hour_vector"] = vector
    lake.write_partition(schemas.DAILY_FEATURES, ds, pd.concat([features, features.iloc[[0]]], ignore_index=True))

    env = airflow_env(airflow_home, **{k: v for k, v in os.environ.items() if k.startswith("TRACKSCOPE_")})
    # the stages that would rewrite the partition are marked successful, so the check reads it as left
    run = run_dag(env, "search_auth_daily", logical_date=ds,
                  mark_success_pattern="^(ingest_queries|check_queries|build_daily_features)$")
    assert run.state == "failed", run.output[-3000:]
    assert run.states_of("check_daily_features") == {"failed"}
    assert run.states_of("rebuild_templates") == run.states_of("check_templates") == {"upstream_failed"}
    assert ds not in lake.partitions(schemas.TEMPLATES)
    report = lake.read_bytes(f"_checkpoints/sa_after_features/{ds}/summary.txt").decode()
    failed = {section.split(" ", 1)[0]: section for section in report.split("\nFAILED ")[1:]}
    assert set(failed) == {"expect_column_values_to_be_unique", "expect_column_pair_values_to_be_equal"}, report
    assert _listed_users(failed["expect_column_values_to_be_unique"]) == [duplicated_user] * 2, report
    pair = failed["expect_column_pair_values_to_be_equal"]
    assert "'hour_vector_sum'" in pair and _listed_users(pair) == [skewed_user], report


def _listed_users(section: str) -> list:
    """user_id of each row a checkpoint summary section lists (lines "<index> <user_id> ...")."""
    rows = section.split("first rows:\n", 1)[1].splitlines()[1:]
    return [line.split()[1] for line in rows]
