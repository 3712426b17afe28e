"""Clean tuning for the Balabit challenge (issue 17): session-grouped folds, pseudo sessions,
cross-fitted calibration, LLR scoring, and the validate → test order on a small Balabit layout."""
import json

import numpy as np
import pandas as pd
import pytest

from transforms.mouse import tuning, verifier
from transforms.synthetic import mouse_sessions as synth
from transforms.mouse.verifier import Candidate


def _actions(sessions: dict[str, tuple[str, int]]) -> pd.DataFrame:
    rows = [{"session_id": s, "user_id": u} for s, (u, n) in sessions.items() for _ in range(n)]
    return pd.DataFrame(rows)


def test_folds_keep_sessions_whole_and_give_every_user_each_fold():
    actions = _actions({f"{u}-s{i}": (u, 4 + i) for u in ("a", "b") for i in range(5)})
    folds = tuning.session_folds(actions, n_folds=3)
    per_session = pd.Series(folds).groupby(actions["session_id"]).nunique()
    assert (per_session == 1).all()
    for _, group in pd.Series(folds).groupby(actions["user_id"]):
        assert set(group) == {0, 1, 2}


def test_pseudo_sessions_are_consecutive_chunks_of_one_session():
    actions = _actions({"s1": ("a", 5), "s2": ("b", 3)})
    assert tuning.pseudo_sessions(actions, 2).tolist() == ["s1#0", "s1#0", "s1#1", "s1#1", "s1#2", "s2#0", "s2#0",
                                                           "s2#1"]


def test_validation_table_claims_every_unit_by_every_user():
    actions = pd.DataFrame({"session_id": ["s1"] * 4 + ["s2"] * 4, "user_id": ["a"] * 4 + ["b"] * 4})
    # columns (a, b); a's actions score high for a, b's for b except one confusing action
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4],
                       [0.2, 0.8], [0.3, 0.7], [0.95, 0.05], [0.1, 0.9]])
    table = tuning.validation_table(scores, actions, tuning.pseudo_sessions(actions, 4))
    assert table["1"]["decisions"] == 8 and table["1"]["pooled"]["n"] == 16
    assert table["1"]["users"]["a"]["auc"] == pytest.approx(12 / 16)  # b's 0.95 outranks all four of a's
    assert table["session"]["decisions"] == 2
    assert table["session"]["pooled"]["auc"] == 1.0
    assert table["20"]["decisions"] == 0 and table["20"]["pooled"]["auc"] is None


def test_uniform_posterior_at_the_prior_is_a_likelihood_ratio_of_one():
    prior = np.array([0.25, 0.75])
    assert np.allclose(verifier.action_llr(prior[None, :], prior), 0.0)
    llr = verifier.action_llr(np.array([[0.5, 0.5]]), prior)
    assert llr[0, 0] > 0 > llr[0, 1]


def test_calibration_is_cross_fitted():
    rng = np.random.default_rng(0)
    actions = _actions({f"{u}-s{i}": (u, 30) for u in ("a", "b") for i in range(3)})
    folds = tuning.session_folds(actions, n_folds=3)
    p_a = np.where(actions["user_id"] == "a", 0.7, 0.3) + rng.normal(0, 0.1, len(actions))
    probabilities = np.clip(np.column_stack([p_a, 1 - p_a]), 0.01, 0.99)
    base = tuning.oof_scores(probabilities, actions, folds, "calibrated_llr")
    changed = probabilities.copy()
    changed[folds == 0] = probabilities[folds == 0][::-1]  # fold 0's own scores shuffled
    again = tuning.oof_scores(changed, actions, folds, "calibrated_llr")
    prior = tuning.fold_priors(actions, folds)
    held = folds == 0
    llr_base = (verifier.logit(probabilities) - verifier.logit(prior))[held, 0]
    llr_changed = (verifier.logit(changed) - verifier.logit(prior))[held, 0]
    slope, intercept = np.polyfit(llr_base, base[held, 0], 1)
    # fold 0 is mapped by parameters fitted on folds 1 and 2 only: its own scores did not move them
    assert np.allclose(again[held, 0], slope * llr_changed + intercept)
    assert not np.allclose(again[folds == 1], base[folds == 1])  # fold 0 does shape fold 1's map


def test_an_unenrolled_claimed_user_gets_the_lowest_score():
    class Fixed:
        classes_ = np.array(["a", "b"])

        def predict_proba(self, x):
            return np.tile([0.6, 0.4], (len(x), 1))

    fitted = verifier.Verifier(Candidate("c"), "mean_llr", Fixed(), np.array([0.5, 0.5]))
    frame = pd.DataFrame({name: [1.0, 1.0, 1.0] for name in Candidate("c").columns} | {"user_id": ["a", "b", "zed"]})
    scores = fitted.action_scores(frame)
    assert scores[0] > scores[1] > scores[2]


@pytest.fixture(scope="module")
def small_challenge(tmp_path_factory):
    root = tmp_path_factory.mktemp("balabit") / "challenge"
    users = synth.profiles(3, seed=5)
    synth.write_day(root, users, 0, seed=5, star_sessions=1, browse_sessions=3, browse_actions=25, labelled_tests=4)
    return root


def test_test_stage_refuses_without_a_validation_choice(small_challenge, tmp_path):
    with pytest.raises(FileNotFoundError, match="validate"):
        tuning.test(small_challenge, tmp_path, 60)


def test_validate_then_test_on_a_small_balabit_layout(small_challenge, tmp_path, monkeypatch):
    fast = [Candidate("hgb_ext_pos", extended=True, positions=True, max_iter=20), Candidate("hgb_ext", extended=True,
                                                                                          max_iter=20)]
    monkeypatch.setattr(tuning, "CANDIDATES", fast)
    monkeypatch.setattr(tuning, "BASELINES", {Candidate("rf_base", model="rf", trees=20): "mean_prob",
                                              Candidate("hgb_base", max_iter=20): "mean_prob"})
    summary = tuning.validate(small_challenge, tmp_path, 300, with_baselines=True)
    assert set(summary["candidates"]) == {"rf_base", "hgb_base", "hgb_ext_pos", "hgb_ext"}
    objectives = {(n, s): v["objective"] for n, r in summary["candidates"].items() for s, v in r["scorings"].items()}
    assert summary["selected"]["objective"] == max(objectives.values())
    assert json.loads((tmp_path / "selection.json").read_text())["candidate"] == summary["selected"]["candidate"]
    result = tuning.test(small_challenge, tmp_path, 300)
    models = result["models"]
    assert {"selected", "main_rf_base", "main_hgb_base", "paper_session_rf", "paper_session_rf_without_extent"} <= set(models)
    pooled = models["selected"]["protocol"]["session"]["pooled"]
    assert pooled["n"] == 12 and pooled["illegal"] == 6 and 0.0 <= pooled["auc"] <= 1.0
    assert set(models["selected"]["protocol"]) == set(tuning.K_VALUES)
    report = tuning.render(tmp_path)
    assert "### Validation" in report and "### Test" in report and "paper_session_rf_without_extent" in report
    assert f"Selected: **{summary['selected']['candidate']} / {summary['selected']['scoring']}**" in report


def test_out_of_time_stops_before_a_new_fit(small_challenge, tmp_path):
    with pytest.raises(tuning.OutOfTime):
        tuning.validate(small_challenge, tmp_path, -1)
