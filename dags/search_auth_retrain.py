"""Search-history authentication, nightly: retrain Doc2Vec + classifier, then the promotion gate."""
from datetime import datetime

from airflow.sdk import Asset, Param, dag, task

from transforms.common.airflow_glue import daily_partitions, run_stage, runtime_settings

SA_MODEL = Asset(name="sa_model", uri="file:///trackscope/search_auth/model")

DOC = """
### Search-history authentication: nightly retraining
For the window of `TRACKSCOPE_SA_WINDOW_DAYS` days ending at `ds` (logical date or param):
**retrain** fits Doc2Vec (fixed seed, one worker) on the documents before the held-out days and
the authentication forest on the days after the first 28, measures it on the last
`TRACKSCOPE_SA_HOLDOUT_DAYS` days and registers the bundle (`models/search_auth/<version>/`
with window, parameters, metrics). **promotion_gate** makes it current only if its held-out
`TRACKSCOPE_SA_GATE_METRIC` is not worse than the current model's by more than
`TRACKSCOPE_SA_GATE_TOLERANCE`; the decision is logged in `models/search_auth/history.jsonl`.
"""


@dag(
    dag_id="search_auth_retrain", schedule=daily_partitions(), start_date=datetime(2026, 1, 1), catchup=False,
    tags=["search_auth", "ml"], doc_md=DOC, max_active_runs=1,
    default_args={"owner": "trackscope", "retries": 0},
    params={"ds": Param(None, type=["null", "string"], description="last day of the window")},
)
def search_auth_retrain():
    @task
    def retrain():
        return run_stage("transforms.search_auth.training.retrain")

    @task(outlets=[SA_MODEL])
    def promotion_gate(version: str):
        from transforms.search_auth import training

        decision = training.promotion_gate(runtime_settings(training.SETTINGS), version)
        print(f"gate: {decision['reason']} -> {'promoted' if decision['promoted'] else 'refused'}")
        return decision

    promotion_gate(retrain())


search_auth_retrain()
