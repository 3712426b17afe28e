"""Search-history authentication, nightly: retrain Doc2Vec + classifier, then the promotion gate."""
from airflow.sdk import dag, task

from transforms.common.airflow_glue import run_stage, runtime_settings
from transforms.common.dagkit import dag_args, daily_partitions, day_param, SA_MODEL


DOC = """
### Search-history authentication: nightly retraining
For the window of `TRACKSCOPE_SA_WINDOW_DAYS` days ending at `ds` (logical date or param):
**retrain** fits Doc2Vec (fixed seed, one worker) on the documents before the held-out days and
the authentication forest on the days after the first 28, measures it on the last
`TRACKSCOPE_SA_HOLDOUT_DAYS` days and registers the bundle (`models/search_auth/<version>/`
with window, parameters, metrics). **promotion_gate** makes it current only if its held-out
`TRACKSCOPE_SA_GATE_METRIC` is not worse than the current model's by more than
`TRACKSCOPE_SA_GATE_TOLERANCE`; the decision is logged in `models/search_auth/history.jsonl`.
`TRACKSCOPE_SA_FEATURE_SET=sparse` trains the sparse method (11 features + a per-user replay veto,
applied to the held-out decisions before the gate compares them).
"""


@dag(**dag_args("search_auth_retrain", DOC, ["search_auth", "ml"], daily_partitions(), max_active_runs=1,
                 params={"ds": day_param("Last day of the window")}))
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
