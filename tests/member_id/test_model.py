"""Pair sampling, the vote rule and the whole retraining stage chain on generated logs."""
import numpy as np
import pandas as pd

from transforms.common.models import ModelRegistry
from transforms.member_id import features, stages
from transforms.member_id.estimator import top3_vote, usable_store
from transforms.member_id.training import PairSampler

from .conftest import DAY_NAMES


def test_top3_vote_majority_and_tie_rule():
    members = np.array(["a", "b", "b", "c"], dtype=object)
    assert top3_vote(members, np.array([0.9, 0.8, 0.7, 0.1]))[0] == "b"  # 2 of 3 beat the most likely
    assert top3_vote(np.array(["a", "b", "c"], dtype=object), np.array([0.2, 0.9, 0.5])) == ("b", 0.9)


def test_pair_sampler_streams_bounded_chunks_with_true_labels(trained):
    settings, _, _ = trained
    store = usable_store(settings.lake.read(stages.ENRICHED, DAY_NAMES[:3]))
    table = features.feature_table(store, features.GroupStats().fit(store))
    sampler = PairSampler(store, table)
    chunks = list(sampler.stream(total=2500, chunk=1000, negative_ratio=1.0, seed=1))
    assert [len(y) <= 1000 for _, y in chunks] == [True] * 3
    X, y = chunks[0]
    assert X.shape[1] == len(features.pair_feature_names(table))
    assert 0.4 < y.mean() < 0.8  # positives plus the few same-member "negatives"
    # the equality-of-user-agent feature separates same-member pairs on average
    ua = features.pair_feature_names(table).index("eq_user_agent")
    assert X[y == 1, ua].mean() > X[y == 0, ua].mean()


def test_retraining_chain_reports_and_promotes(trained):
    settings, evaluation, gate = trained
    assert gate["promoted"] and gate["version"] == evaluation["version"]
    report = settings.lake.read_json(f"reports/member_id/ds={DAY_NAMES[-1]}/metrics.json")
    for kind in ("gbm", "mlp"):
        m = report["models"][kind]
        assert m["known_queries"] > 50 and m["unseen_queries"] > 0
        assert m["blocking_recall"] > 0.7
    gbm = report["models"]["gbm"]
    chance = 1 / report["train"]["store_members"]
    assert gbm["top1_accuracy_known"] > 10 * chance
    assert report["train"]["window"][1] < report["calibration_day"] < report["test_day"]
    assert "| top1_accuracy_known |" in settings.lake.read_bytes(f"reports/member_id/ds={DAY_NAMES[-1]}/report.md").decode()
    estimator = ModelRegistry(settings.lake, stages.MODEL_NAME).load()
    test_day = settings.lake.read_partition(stages.ENRICHED, DAY_NAMES[-1])
    results = estimator.estimate(test_day.head(40))
    assert {r.status for r in results} <= {"success", "error"}
    errors = [r for r, miss in zip(results, test_day.head(40)["missing_fields"]) if miss]
    assert all(r.status == "error" and "could not derive" in r.reason for r in errors)


def test_gate_refuses_a_worse_candidate(trained):
    settings, _, _ = trained
    registry = ModelRegistry(settings.lake, stages.MODEL_NAME)
    current = registry.current_version()
    worse = registry.save({"dummy": True}, {}, {}, {"decision_accuracy": -1.0})
    assert not registry.gate(worse, "decision_accuracy", True, settings.mid_gate_tolerance).promoted
    assert registry.current_version() == current


def test_checkpoints_pass_on_generated_days(trained):
    settings, _, _ = trained
    stages.check_accesses(settings, DAY_NAMES[0])
    stages.check_enriched(settings, DAY_NAMES[0])
