"""Search-history authentication, daily: ingest → features → templates, with checkpoints."""
from airflow.sdk import dag, task

from transforms.common.airflow_glue import run_stage
from transforms.common.dagkit import dag_args, daily_partitions, day_param, SA_FEATURES, SA_TEMPLATES


DOC = """
### Search-history authentication: daily features and templates
Works on one local day `ds` (the logical date, or the `ds` param), so backfills
(`airflow backfill create --dag-id search_auth_daily --from-date … --to-date … --max-active-runs 1`:
one date at a time, as templates read the days before) write exactly what the daily run of each
date writes.
1. **ingest_queries**: every file in `TRACKSCOPE_SA_INPUT_DIR` (AOL TSV, CSV, Parquet) → rows of
   that day in `sa_queries`; bad rows → `quarantine_sa_queries` with the reason.
2. **build_daily_features** → `sa_daily_features` (count, SQR, 24-bin hours, noun document).
3. **rebuild_templates** → `sa_templates` for authenticating `ds` (28 days before it), with the
   suitability and uniqueness indices; short histories get state `insufficient_history`.
Each `check_*` task is a Great Expectations checkpoint: a failure stops the stages after it.
See docs/search_auth.md.
"""


@dag(**dag_args("search_auth_daily", DOC, ["search_auth"], daily_partitions(), max_active_runs=1,
                 params={"ds": day_param()}))
def search_auth_daily():
    @task
    def ingest_queries():
        return run_stage("transforms.search_auth.stages.ingest_queries")

    @task
    def check_queries():
        run_stage("transforms.search_auth.stages.check_queries")

    @task(outlets=[SA_FEATURES])
    def build_daily_features():
        return run_stage("transforms.search_auth.stages.build_daily_features")

    @task
    def check_daily_features():
        run_stage("transforms.search_auth.stages.check_daily_features")

    @task(outlets=[SA_TEMPLATES])
    def rebuild_templates():
        return run_stage("transforms.search_auth.stages.rebuild_templates")

    @task
    def check_templates():
        run_stage("transforms.search_auth.stages.check_templates")

    (ingest_queries() >> check_queries() >> build_daily_features() >> check_daily_features()
     >> rebuild_templates() >> check_templates())


search_auth_daily()
