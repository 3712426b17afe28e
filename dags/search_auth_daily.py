"""Search-history authentication, daily: ingest → features → templates, with checkpoints."""
from datetime import datetime

from airflow.sdk import Asset, Param, dag, task

SA_FEATURES = Asset(name="sa_daily_features", uri="file:///trackscope/search_auth/daily_features")
SA_TEMPLATES = Asset(name="sa_templates", uri="file:///trackscope/search_auth/templates")

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


def _run(name: str):
    from transforms.common.airflow_glue import task_context
    from transforms.search_auth import stages
    from transforms.search_auth.settings import SearchAuthSettings

    return getattr(stages, name)(*task_context("ds", SearchAuthSettings))


@dag(
    dag_id="search_auth_daily", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
    tags=["search_auth"], doc_md=DOC, max_active_runs=1,
    default_args={"owner": "trackscope", "retries": 0},
    params={"ds": Param(None, type=["null", "string"], description="day to process (default: logical date)")},
)
def search_auth_daily():
    @task
    def ingest_queries():
        return _run("ingest_queries")

    @task
    def check_queries():
        _run("check_queries")

    @task(outlets=[SA_FEATURES])
    def build_daily_features():
        return _run("build_daily_features")

    @task
    def check_daily_features():
        _run("check_daily_features")

    @task(outlets=[SA_TEMPLATES])
    def rebuild_templates():
        return _run("rebuild_templates")

    @task
    def check_templates():
        _run("check_templates")

    (ingest_queries() >> check_queries() >> build_daily_features() >> check_daily_features()
     >> rebuild_templates() >> check_templates())


search_auth_daily()
