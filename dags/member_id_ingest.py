"""Member-ID estimation, daily: access log of the logical date → accesses → enriched features."""
from airflow.sdk import dag, task

from transforms.common.airflow_glue import run_stage
from transforms.common.dagkit import dag_args, daily_partitions, day_param, MID_ENRICHED


DOC = """
### Member-ID estimation: daily ingest
Works on one day `ds` (the `ds` param, else the logical date), so a backfill equals the daily run.
1. **ingest_day**: `access-<ds>.log[.gz]|.csv|.parquet` under `mid_log_dir` (combined log format or
   a table) → `mid_accesses`; unparseable lines, bad or private/reserved IPs and lines of another
   day → `quarantine_mid_accesses`.
2. **check_accesses**: GX checkpoint (rows present, ip/UA present, every timestamp on `ds`).
3. **enrich_day**: time parts, IP octets/prefix, GeoIP City + ISP (mmdb), parsed UA → `mid_enriched`;
   accesses missing ISP/city/OS or browser version are marked in `missing_fields`, bots in `is_bot`.
4. **check_enriched**: GX checkpoint (ranges; most accesses estimable).
See docs/member_id.md.
"""


@dag(**dag_args("member_id_ingest", DOC, ["member_id"], daily_partitions(), params={"ds": day_param()}))
def member_id_ingest():
    @task
    def ingest_day():
        return run_stage("transforms.member_id.stages.ingest_day")

    @task(retries=0)
    def check_accesses():
        run_stage("transforms.member_id.stages.check_accesses")

    @task
    def enrich_day():
        return run_stage("transforms.member_id.stages.enrich_day")

    @task(retries=0, outlets=[MID_ENRICHED])
    def check_enriched():
        run_stage("transforms.member_id.stages.check_enriched")

    ingest_day() >> check_accesses() >> enrich_day() >> check_enriched()


member_id_ingest()
