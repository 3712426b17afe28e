"""The demo path end to end: headless Chromium + recorder → collector → Airflow DAGs → identification."""
import pytest

from tests.airflow_run import airflow_env, run_dag
from transforms.common.lake import Lake
from transforms.common import settings as settings_module
from transforms.mouse import schemas, stages
from transforms.synthetic import mouse_browser
from transforms.mouse.settings import MouseSettings

ENROL, LATER = "2026-11-01", "2026-11-02"
USERS = 3


@pytest.fixture(scope="module")
def demo(airflow_home, tmp_path_factory):
    root = tmp_path_factory.mktemp("mouse_browser")
    lake_uri = (root / "lake").as_uri()
    lake = Lake(lake_uri)
    # enrolment day: one star and one browsing session per user; later day: one browsing session
    recorded = mouse_browser.run(lake, {ENROL: (1, 1), LATER: (0, 1)}, USERS, seed=11, browse_actions=4,
                                pause_scale=0.25)
    env = airflow_env(airflow_home, TRACKSCOPE_LAKE_URI=lake_uri, TRACKSCOPE_MOUSE_INBOX=str(root / "no_inbox"),
                      TRACKSCOPE_MOUSE_TREES="60", TRACKSCOPE_MOUSE_WINDOW_SIZES="1,3", TRACKSCOPE_MOUSE_GATE_WINDOW="3")
    runs = {"features_enrol": run_dag(env, "mouse_features", logical_date=ENROL)}
    # the later day's features in-process (same stage functions the DAG calls) to keep the suite short
    later = settings_module.load(MouseSettings, lake_uri=lake_uri, mouse_inbox=str(root / "no_inbox"))
    for stage in ("ingest_events", "check_events", "compute_features", "check_features"):
        getattr(stages, stage)(later, LATER)
    runs["training"] = run_dag(env, "mouse_training", {"ds": LATER, "train_days": 1, "test_days": 1})
    return {"lake": lake, "recorded": recorded, "runs": runs}


def test_dag_runs_succeed(demo):
    for name, run in demo["runs"].items():
        assert run.state == "success", f"{name}:\n{run.output[-4000:]}"
    assert demo["runs"]["training"].states_of("promotion_gate") == {"success"}


def test_recorder_events_reached_the_lake(demo):
    assert all(batches > 0 for batches in demo["recorded"].values())
    for day in (ENROL, LATER):
        events = demo["lake"].read_partition(schemas.EVENTS, day)
        assert set(events["source"]) == {"recorder"}
        assert events["user_id"].nunique() == USERS
        assert {"move", "press", "release", "click"} <= set(events["event"])
    enrol = demo["lake"].read_partition(schemas.EVENTS, ENROL)
    assert "drag" in set(enrol.loc[enrol["task"] == "star", "event"])  # the star is drawn with the button held


def test_pipeline_identifies_the_browser_users(demo):
    evaluation = demo["lake"].read_json(stages.evaluation_path(LATER))
    assert evaluation["train_days"] == [ENROL] and evaluation["test_days"] == [LATER]
    sessions = evaluation["identified_sessions"]
    assert len(sessions) == USERS
    correct = sum(s["true_user"] == s["predicted_user"] for s in sessions)
    assert correct >= 2, sessions  # chance: 1 of 3
    report = demo["lake"].read_bytes(f"reports/mouse/ds={LATER}/report.md").decode()
    assert "recorder:user1" in report
