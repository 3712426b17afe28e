"""Mouse dynamics on a Balabit-layout directory as it ships: enrolment, impostor protocol, gate."""
from airflow.sdk import Param, dag, task

from transforms.common.airflow_glue import run_param, run_stage
from transforms.common.dagkit import dag_args, key_param

DOC = """
### Mouse dynamics: the Balabit challenge, as shipped
Trigger with conf `{"balabit_dir": "/path/to/Mouse-Dynamics-Challenge", "run_id": "balabit"}`
(`balabit_dir` defaults to `trackscope_mouse_balabit_dir`). No dates: `training_files/<user>/session_*`
is enrolment, `test_files/<user>/session_*` listed in `public_labels.csv` (`filename,is_illegal`)
is the test set; each test session claims its folder's user.
1. **check_directory**: layout, users, labelled and illegal test sessions (fails with what is missing).
2. **enrol_and_verify**: features (settings `trackscope_mouse_resample_ms`, `_screen_normalise`,
   `_drop_screen_extent`), per-action models and the paper's session RF, the impostor protocol per
   user and pooled at k = 1, 5, 10, 20 actions and whole sessions, identification on legal test
   sessions; the candidate goes to registry `mouse_balabit`, the gate re-scores the current model
   on the same test set; old versions are pruned (`trackscope_mouse_keep_versions`).
   Report: `reports/mouse/balabit/<run_id>/report.md` (+ `evaluation.json`). `compare: true` also
   evaluates raw / resampled / screen-invariant features. See docs/mouse.md.
"""


def _stage(name: str, *args):
    return run_stage(f"transforms.mouse.stages.{name}", run_param("balabit_dir"), *args, key="run_id")


@dag(**dag_args("mouse_balabit", DOC, ["mouse", "model"], None, max_active_runs=1, params={
    "run_id": key_param("Report / run name", default="balabit"),
    "balabit_dir": Param(None, type=["null", "string"], description="Balabit directory (absolute path)"),
    "compare": Param(False, type="boolean", description="also evaluate the robustness variants")}))
def mouse_balabit():
    @task(retries=0)
    def check_directory():
        return _stage("balabit_check")

    @task
    def enrol_and_verify(counts: dict):
        return _stage("balabit_evaluate", run_param("compare"))

    enrol_and_verify(check_directory())


mouse_balabit()
