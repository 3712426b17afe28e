"""The Balabit challenge as shipped: a small Balabit-layout directory (training_files, test_files,
public_labels.csv) through the CLI and the ``mouse_balabit`` DAG; the impostor protocol."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tests.airflow_run import airflow_env, run_dag
from transforms.common.lake import Lake
from transforms.common.models import ModelRegistry
from transforms.mouse import challenge
from transforms.synthetic import mouse_sessions

USERS = 4
ENV = {"TRACKSCOPE_MOUSE_TREES": "40", "TRACKSCOPE_MOUSE_WINDOW_SIZES": "1,5,10,20",
       "TRACKSCOPE_MOUSE_GATE_WINDOW": "10", "TRACKSCOPE_MOUSE_KEEP_VERSIONS": "1"}


@pytest.fixture(scope="module")
def balabit_dir(tmp_path_factory):
    """4 users; per user 1 star + 2 browse enrolment sessions and 4 labelled test sessions, two of
    them produced by another user (is_illegal=1), and one unlabelled test session."""
    root = tmp_path_factory.mktemp("balabit") / "Mouse-Dynamics-Challenge"
    users = mouse_sessions.profiles(USERS, seed=21)
    mouse_sessions.write_day(root, users, 0, seed=21, star_sessions=1, browse_sessions=2, browse_actions=30,
                             labelled_tests=4)
    (root / "session_tasks.csv").unlink()  # the challenge ships without it
    unlabelled = root / "test_files" / users[0].name / "session_unlabelled"
    shutil.copy(next((root / "test_files" / users[0].name).glob("session_*")), unlabelled)
    return root


@pytest.fixture(scope="module")
def cli_runs(balabit_dir, tmp_path_factory):
    lake_uri = (tmp_path_factory.mktemp("lake") / "lake").as_uri()
    patch = pytest.MonkeyPatch()
    patch.setenv("TRACKSCOPE_LAKE_URI", lake_uri)
    for name, value in ENV.items():
        patch.setenv(name, value)
    outputs = []
    try:
        for run_id, extra in (("first", ["--compare"]), ("second", []), ("third", [])):
            assert challenge.main([str(balabit_dir), "--run-id", run_id, *extra]) == 0
            outputs.append(Lake(lake_uri).read_json(f"reports/mouse/balabit/{run_id}/evaluation.json"))
    finally:
        patch.undo()
    return {"lake": Lake(lake_uri), "evaluations": outputs}


def test_window_and_protocol_tables_have_known_answers():
    actions = pd.DataFrame({"session_id": ["a"] * 5 + ["b"] * 4, "user_id": ["u"] * 9,
                            "is_illegal": [0] * 5 + [1] * 4})
    scores = np.array([0.9, 0.7, 0.8, 0.6, 0.1, 0.2, 0.4, 0.3, 0.5])
    by_two = challenge.window_table(actions, scores, 2)
    assert by_two["score"].round(3).tolist() == [0.8, 0.7, 0.3, 0.4]  # a's 5th action is no full window
    table = challenge.protocol_table(by_two)
    assert table["pooled"] == {"n": 4, "illegal": 2, "auc": 1.0, "eer": 0.0}
    whole = challenge.window_table(actions, scores, "session")
    assert whole["score"].round(3).tolist() == [0.62, 0.35]
    mixed = challenge.protocol_table(pd.DataFrame({"user_id": ["u", "u", "u", "v", "v"], "is_illegal": [0, 1, 1, 0, 1],
                                                   "score": [0.5, 0.6, 0.4, 0.9, 0.1]}))
    assert mixed["users"]["u"]["auc"] == 0.5 and mixed["users"]["v"]["auc"] == 1.0
    assert mixed["pooled"]["auc"] == pytest.approx(5 / 6)


def test_directory_check_names_what_is_missing(tmp_path, balabit_dir):
    assert challenge.check_directory(balabit_dir) == {
        "training_sessions": USERS * 3, "labelled_test_sessions": USERS * 4, "illegal_test_sessions": USERS * 2,
        "unlabelled_test_sessions_skipped": 1, "users": USERS}
    copy = tmp_path / "copy"
    shutil.copytree(balabit_dir, copy)
    (copy / "public_labels.csv").unlink()
    with pytest.raises(ValueError, match="public_labels.csv"):
        challenge.check_directory(copy)


def test_cli_reports_the_impostor_protocol_per_user_and_k(cli_runs):
    evaluation = cli_runs["evaluations"][0]
    headline = evaluation["variants"]["configured"]
    assert headline["data"]["test_sessions"] == USERS * 4 and headline["data"]["illegal_test_sessions"] == USERS * 2
    for name in ("action_rf", "action_hgb"):
        protocol = headline["models"][name]["protocol"]
        assert set(protocol) == {"1", "5", "10", "20", "session"}
        assert len(protocol["session"]["users"]) == USERS
        assert protocol["session"]["pooled"]["n"] == USERS * 4 and protocol["session"]["pooled"]["illegal"] == USERS * 2
        # impostors are other motor profiles: whole sessions separate clearly from legal ones
        assert protocol["session"]["pooled"]["auc"] > 0.75, protocol["session"]["pooled"]
        assert protocol["1"]["pooled"]["n"] > protocol["5"]["pooled"]["n"] > protocol["20"]["pooled"]["n"] > 0
        assert set(headline["models"][name]["identification"]) >= {"1", "session"}
    assert set(headline["models"]["session_rf"]["protocol"]) == {"session"}
    assert set(evaluation["variants"]) == {"configured", "resampled", "resampled_screen_invariant"}
    invariant = evaluation["variants"]["resampled_screen_invariant"]
    assert "x_max" not in invariant["models"]["session_rf"]["features"]
    assert len(evaluation["sampling_rates"]) == USERS
    assert "short_actions" in headline["data"]  # counted in the evaluation (unit-tested in test_mouse_features)
    report = cli_runs["lake"].read_bytes("reports/mouse/balabit/first/report.md").decode()
    assert "## Pooled AUC / EER by k" in report and "| k=20 AUC | EER |" in report
    for user in headline["data"]["users"]:
        assert f"| {user} |" in report
    assert "Not the impostor protocol: one-vs-rest" in report and "verification AUC" not in report


def test_gate_rescores_the_current_model_on_the_same_test_set_and_prunes(cli_runs):
    first, second, third = cli_runs["evaluations"]
    assert first["gate"]["promoted"] and first["current_rescored"] is None
    metric = "impostor_auc_k10"
    rescored = second["current_rescored"]
    assert rescored["version"] == first["candidate"] and rescored["rescored_on"] == "the candidate's test set"
    # same data, same seed: the re-scored current model matches the candidate on this test set
    assert rescored[metric] == pytest.approx(second["gate"]["candidate_value"])
    assert second["gate"]["current_value"] == pytest.approx(rescored[metric])
    registry = ModelRegistry(cli_runs["lake"], challenge.REGISTRY)
    # keep_versions 1: the current, the one promoted before it and the newest
    assert third["pruned_versions"] == [first["candidate"]]
    assert registry.versions() == sorted([second["candidate"], third["candidate"]])
    assert registry.load()["chosen"] in ("action_rf", "action_hgb")


@pytest.mark.slow
def test_dag_conf_runs_the_directory(balabit_dir, airflow_home, tmp_path):
    lake_uri = (tmp_path / "lake").as_uri()
    env = airflow_env(airflow_home, TRACKSCOPE_LAKE_URI=lake_uri, **ENV)
    run = run_dag(env, "mouse_balabit", {"balabit_dir": str(balabit_dir), "run_id": "dagrun"})
    assert run.state == "success", run.output[-4000:]
    assert run.states_of("enrol_and_verify") == {"success"}
    evaluation = Lake(lake_uri).read_json("reports/mouse/balabit/dagrun/evaluation.json")
    assert evaluation["root"] == str(balabit_dir.resolve())
    assert evaluation["gate"]["promoted"]
    assert "| k=1 AUC | EER |" in Lake(lake_uri).read_bytes("reports/mouse/balabit/dagrun/report.md").decode()
    bad = run_dag(env, "mouse_balabit", {"balabit_dir": str(tmp_path / "nowhere"), "run_id": "bad"})
    assert bad.state == "failed", json.dumps(bad.task_states)
    assert bad.states_of("check_directory") == {"failed"} and bad.states_of("enrol_and_verify") != {"success"}
