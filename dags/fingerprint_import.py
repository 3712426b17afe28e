"""Fingerprint linking, onboarding: import a whole history of visits and link it in time order."""
from airflow.sdk import Param, dag, task

from transforms.common.airflow_glue import run_param, run_stage
from transforms.common.dagkit import dag_args, day_param

DOC = """
### Browser-fingerprint linking: history import
Manual DAG to onboard an existing collection (e.g. the generator's history, or a site's past
visits) in one run instead of hundreds of daily runs. `source` is a folder of
`visits-YYYY-MM-DD.*` files or a single JSONL/CSV/Parquet file; `ds` is the import date (later
visits are quarantined). Every day found is ingested exactly as **fingerprint_daily** would
(`fp_visits/ds=<day>` + quarantine), then all visits are linked in time order with the current
linker and the device store is written for the last imported day, so that daily runs continue
from there. Checkpoint: the last imported day's coverage and links.
"""


@dag(**dag_args("fingerprint_import", DOC, ["fingerprint"], None, max_active_runs=1, params={
    "ds": day_param("Import date (default: logical date)"),
    "source": Param(None, type=["null", "string"], description="Folder or file (default: fp_input_dir)"),
}))
def fingerprint_import():
    @task
    def import_history() -> dict:
        return run_stage("transforms.fingerprint.stages.import_history", run_param("source"))

    @task
    def check_import():
        run_stage("transforms.fingerprint.stages.check_import")

    import_history() >> check_import()


fingerprint_import()
