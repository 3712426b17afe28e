"""Mouse dynamics, daily: raw interaction logs → validated events → session and action features."""
from airflow.sdk import dag, task

from transforms.common.airflow_glue import run_stage
from transforms.common.dagkit import dag_args, daily_partitions, day_param, MOUSE_FEATURES


DOC = """
### Mouse dynamics: daily features
Works on one day `ds` (the `ds` param, else the logical date), so a backfill equals the daily run.
1. **ingest_events**: the day's Balabit-layout folder `<trackscope_mouse_inbox>/ds=<day>/` and the
   recorder batches the collector stored under `raw/mouse/recorder/ds=<day>/` → `mouse_events`;
   bad rows (time going back, NaN or out-of-range coordinates, unknown state) →
   `quarantine_mouse_events` with reasons.
2. **check_events** (Great Expectations).
3. **compute_features**: paper's per-session features → `mouse_session_features`; per-action
   features (move / point-click / drag) → `mouse_actions`.
4. **check_features** (Great Expectations), then the `mouse_features` asset event.
Checkpoint summaries: `_checkpoints/<name>/<ds>/summary.txt` in the lake. See docs/mouse.md.
"""


@dag(**dag_args("mouse_features", DOC, ["mouse"], daily_partitions(), max_active_runs=1,
                 params={"ds": day_param()}))
def mouse_features():
    @task
    def ingest_events():
        return run_stage("transforms.mouse.stages.ingest_events")

    @task(retries=0)
    def check_events():
        run_stage("transforms.mouse.stages.check_events")

    @task
    def compute_features():
        return run_stage("transforms.mouse.stages.compute_features")

    @task(retries=0, outlets=[MOUSE_FEATURES])
    def check_features():
        run_stage("transforms.mouse.stages.check_features")

    ingest_events() >> check_events() >> compute_features() >> check_features()


mouse_features()
