"""Mouse dynamics, nightly: retrain identification models, evaluate, gate, report."""
from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

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
3. **promotion_gate**: promotes the candidate unless its verification ROC AUC (at
   `trackscope_mouse_gate_window` actions) is worse than the current model's by more than the
   tolerance.
4. **build_report**: `reports/mouse/ds=<ds>/report.md` (and `evaluation.json`, `gate.json`).
"""


def _window():
    from transforms.common.airflow_glue import task_context
    from transforms.mouse.settings import MouseSettings

    settings, ds = task_context("ds", MouseSettings)
    params = get_current_context()["params"]
    train = params.get("train_days") or settings.mouse_train_days
    test = params.get("test_days") or settings.mouse_test_days
    return settings, ds, int(train), int(test)


@dag(
    dag_id="mouse_training", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
    max_active_runs=1, tags=["mouse", "model"], doc_md=DOC, default_args={"owner": "trackscope", "retries": 0},
    params={"ds": Param(None, type=["null", "string"], description="Last test day (default: logical date)"),
            "train_days": Param(None, type=["null", "integer"], minimum=1),
            "test_days": Param(None, type=["null", "integer"], minimum=1)},
)
def mouse_training():
    @task(retries=0)
    def check_training_window():
        from transforms.mouse.stages import check_training_window as run

        return run(*_window())

    @task
    def train_candidate() -> str:
        from transforms.mouse.stages import train_candidate as run

        return run(*_window())

    @task
    def promotion_gate(version: str) -> dict:
        from transforms.mouse.stages import promotion_gate as run

        settings, ds, _, _ = _window()
        return run(settings, ds, version)

    @task
    def build_report(decision: dict) -> str:
        from transforms.mouse.stages import build_report as run

        settings, ds, _, _ = _window()
        return run(settings, ds)

    version = train_candidate()
    check_training_window() >> version
    build_report(promotion_gate(version))


mouse_training()
