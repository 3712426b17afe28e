"""Mouse dynamics, nightly: retrain identification models, evaluate, gate, report."""
from airflow.sdk import Param, dag, task

from transforms.common.airflow_glue import run_param, run_stage
from transforms.common.dagkit import dag_args, daily_partitions, day_param

DOC = """
### Mouse dynamics: nightly retraining
For day `ds` (param, else the logical date): the test period is the `test_days` ending at `ds`,
the training period the `train_days` before it (settings `trackscope_mouse_train_days` /
`trackscope_mouse_test_days`, or the params). The periods never overlap, so no session is split.
1. **check_training_window** (Great Expectations): both periods have data, ≥ 2 users, every
   session in one period only.
2. **train_candidate**: paper's random forest on session features (per task) and per-action
   random forest + gradient boosting; evaluation versus the number of actions aggregated;
   the better action model is saved in the registry `mouse_identification`.
3. **promotion_gate**: re-scores the current model on the same test period and promotes the
   candidate unless its AUC (impostor protocol at `trackscope_mouse_gate_window` actions when the
   period has labelled legal and illegal sessions, else one-vs-rest) is worse by more than the
   tolerance; prunes old versions (`trackscope_mouse_keep_versions`).
4. **build_report**: `reports/mouse/ds=<ds>/report.md` (and `evaluation.json`, `gate.json`).
"""


def _window_stage(name: str):
    return run_stage(f"transforms.mouse.stages.{name}", run_param("train_days"), run_param("test_days"))


@dag(**dag_args("mouse_training", DOC, ["mouse", "model"], daily_partitions(), max_active_runs=1, params={
    "ds": day_param("Last test day (default: logical date)"),
    "train_days": Param(None, type=["null", "integer"], minimum=1),
    "test_days": Param(None, type=["null", "integer"], minimum=1)}))
def mouse_training():
    @task(retries=0)
    def check_training_window():
        return _window_stage("check_training_window")

    @task
    def train_candidate() -> str:
        return _window_stage("train_candidate")

    @task
    def promotion_gate(version: str) -> dict:
        return run_stage("transforms.mouse.stages.promotion_gate", version, run_param("train_days"),
                         run_param("test_days"))

    @task
    def build_report(decision: dict) -> str:
        return run_stage("transforms.mouse.stages.build_report")

    version = train_candidate()
    check_training_window() >> version
    build_report(promotion_gate(version))


mouse_training()
