"""Fingerprint linking, daily: ingest the day's visits → checkpoint → link to devices → checkpoint."""
from airflow.sdk import Metadata, dag, task

from transforms.common.airflow_glue import current_key, run_stage
from transforms.common.dagkit import dag_args, daily_partitions, day_param, FP_LINKS


DOC = """
### Browser-fingerprint linking: daily
For the run's date `ds` (logical date, or the `ds` param):
1. **ingest_visits**: `$TRACKSCOPE_FP_INPUT_DIR/visits-<ds>.{jsonl,csv,parquet}` → `fp_visits/ds=<ds>`;
   malformed, non-UTF-8, out-of-day, attribute-less and duplicate visits go to
   `quarantine_fp_visits`, over-long attribute values are capped (the row names them).
2. **check_ingest**: ≥ `fp_min_attributes` of the collected attributes (`fp_attributes`) per
   visit, unique visit ids, valid ssdeep hashes; per-attribute coverage is recorded, not required.
3. **link_visits**: each visit → a device id with its score, or a new device, against the
   device store of the previous day (`fp_device_store`), using the promoted `fp_linker`
   (ssdeep at `fp_fallback_threshold` before the first promotion) → `fp_links/ds=<ds>`.
   `depends_on_past`: days are linked in date order, so backfills run oldest first.
4. **check_links**: every visit linked exactly once, scores inside the method's range.
See `docs/fingerprint.md`.
"""


@dag(**dag_args("fingerprint_daily", DOC, ["fingerprint"], daily_partitions(), max_active_runs=1,
                 params={"ds": day_param()}))
def fingerprint_daily():
    @task
    def ingest_visits() -> dict:
        return run_stage("transforms.fingerprint.stages.ingest_visits")

    @task
    def check_ingest():
        run_stage("transforms.fingerprint.stages.check_ingest")

    @task(depends_on_past=True)
    def link_visits() -> dict:
        return run_stage("transforms.fingerprint.stages.link_day")

    @task(outlets=[FP_LINKS])
    def check_links():
        run_stage("transforms.fingerprint.stages.check_links")
        yield Metadata(FP_LINKS, {"ds": current_key()})

    ingest_visits() >> check_ingest() >> link_visits() >> check_links()


fingerprint_daily()
