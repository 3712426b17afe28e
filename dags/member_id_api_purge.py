"""Member-ID API, hourly: erase the raw fields of finished estimation requests after the retention."""
from airflow.sdk import dag, task

from transforms.common.airflow_glue import run_stage
from transforms.common.dagkit import dag_args

DOC = """
### Member-ID API: purge raw request fields
Every hour, **purge_api_requests** erases the IP address, access time and User-Agent of the
estimation requests (store `mid_api_db_url`) that finished more than `mid_api_retention_days`
(default 7) days ago, and marks them `purged_at`. Results, statuses and per-key usage counts stay.
Pending requests are never touched. See docs/member_id.md.
"""


@dag(**dag_args("member_id_api_purge", DOC, ["member_id", "privacy"], "@hourly"))
def member_id_api_purge():
    @task
    def purge_api_requests():
        return run_stage("transforms.member_id.stages.purge_api_requests")

    purge_api_requests()


member_id_api_purge()
