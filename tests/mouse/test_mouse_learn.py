"""Models and evaluation on synthetic users: periods disjoint, metrics computed honestly."""
import numpy as np
import pandas as pd
import pytest

from transforms.common import settings as settings_module
from transforms.common.models import ModelRegistry
from transforms.mouse import learn, stages
from transforms.synthetic import mouse_sessions
from transforms.mouse.settings import MouseSettings

DAYS = ["2026-10-01", "2026-10-02", "2026-10-03"]


def test_periods_never_overlap():
    train, test = stages.periods("2026-10-10", train_days=3, test_days=2)
    assert train == ["2026-10-06", "2026-10-07", "2026-10-08"] and test == ["2026-10-09", "2026-10-10"]


def test_equal_error_rate_and_windows():
    assert learn.equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert learn.equal_error_rate([0, 1, 0, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(0.5)
    actions = pd.DataFrame({"session_id": ["a"] * 5 + ["b"] * 2, "user_id": ["u"] * 5 + ["v"] * 2})
    probabilities = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]], float)
    users, scores = learn.windows(actions, probabilities, 2)
    assert users == ["u", "u", "v"]  # session a: two full windows, the 5th action left over
    assert scores.tolist() == [[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("mouse")
    mouse_sessions.write_inbox(root / "inbox", DAYS, n_users=4, seed=3, browse_actions=12, labelled_tests=2)
    s = settings_module.load(MouseSettings, lake_uri=(root / "lake").as_uri(), mouse_inbox=str(root / "inbox"),
                             mouse_trees=60, mouse_window_sizes="1,5")
    counts = {}
    for day in DAYS:
        counts[day] = stages.ingest_events(s, day)
        stages.check_events(s, day)
        stages.compute_features(s, day)
        stages.check_features(s, day)
    stages.check_training_window(s, DAYS[-1], 2, 1)
    version = stages.train_candidate(s, DAYS[-1], 2, 1)
    decision = stages.promotion_gate(s, DAYS[-1], version)
    report = stages.build_report(s, DAYS[-1])
    return {"settings": s, "counts": counts, "version": version, "decision": decision, "report": report}


def test_bad_rows_quarantined_per_day(pipeline):
    for counts in pipeline["counts"].values():
        assert counts["quarantined"] == 3 and len(counts["quarantine_reasons"]) == 3


def test_models_beat_chance_on_later_days(pipeline):
    s = pipeline["settings"]
    evaluation = s.lake.read_json(stages.evaluation_path(DAYS[-1]))
    assert evaluation["train_days"] == DAYS[:2] and evaluation["test_days"] == DAYS[2:]
    for name in ("action_rf", "action_hgb"):
        by_k = evaluation["actions"][name]["by_k"]
        assert by_k["1"]["identification"]["accuracy"] > 0.25 + 0.1  # 4 users: chance is 0.25
        assert by_k["5"]["one_vs_rest"]["auc"] > 0.7
        protocol = evaluation["actions"][name]["impostor_protocol"]
        assert set(protocol) == {"1", "5", "session"} and protocol["session"]["pooled"]["illegal"] > 0
    assert set(evaluation["session_rf"]) == {"star", "browse"}


def test_first_candidate_promoted_and_report_written(pipeline):
    s = pipeline["settings"]
    assert pipeline["decision"]["promoted"]
    registry = ModelRegistry(s.lake, stages.REGISTRY)
    assert registry.current_version() == pipeline["version"]
    assert registry.load()["chosen"] in ("action_rf", "action_hgb")
    text = open(pipeline["report"]).read()
    assert "| star |" in text and "0.370" in text and "Promotion gate" in text


def test_gate_refuses_a_clearly_worse_candidate(pipeline):
    s = pipeline["settings"]
    registry = ModelRegistry(s.lake, stages.REGISTRY)
    current = registry.meta(pipeline["version"])["metrics"]
    worse = registry.save({"chosen": "constant"}, {}, {}, {"gate_auc": 0.5, "gate_metric": current["gate_metric"],
                                                           "gate_window": current["gate_window"]})
    decision = stages.promotion_gate(s, DAYS[-1], worse, 2, 1)
    assert not decision["promoted"]
    # the current model was re-scored on the same test days, giving its own stored figure back
    assert decision["current_rescored_on_same_test_set"]
    assert decision["current_value"] == pytest.approx(current["gate_auc"])
    assert registry.current_version() == pipeline["version"]
