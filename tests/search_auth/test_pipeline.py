"""Stages end to end on a small generated log: features, templates, retraining, gate, scoring."""
import json

import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from transforms.common.validation import CheckpointFailed
from transforms.search_auth import panel as panel_mod
from transforms.search_auth import schemas, stages, training
from transforms.common.days import day_range

from .conftest import with_overrides


def _features_for(settings, days):
    for ds in days:
        stages.ingest_queries(settings, ds)
        stages.check_queries(settings, ds)
        stages.build_daily_features(settings, ds)
        stages.check_daily_features(settings, ds)


def test_templates_retraining_gate_and_scoring(sa_settings, generated_log):
    days = day_range("2026-01-01", "2026-02-05")
    _features_for(sa_settings, days)
    # a user who searched on only 2 days of the window gets an explicit state
    features = sa_settings.lake.read_partition(schemas.DAILY_FEATURES, "2026-01-20")
    extra = features.iloc[:1].assign(user_id="rare")
    sa_settings.lake.write_partition(schemas.DAILY_FEATURES, "2026-01-20", pd.concat([features, extra]))

    version = training.retrain(sa_settings, "2026-02-04")
    decision = training.promotion_gate(sa_settings, version)
    assert decision["promoted"]
    meta = training.registry(sa_settings).meta(version)
    assert meta["data_window"]["holdout"] == ["2026-02-02", "2026-02-04"]
    assert meta["data_window"]["doc2vec_until"] < meta["data_window"]["holdout"][0]
    assert 0.5 < meta["metrics"]["accuracy"] <= 1.0

    stages.rebuild_templates(sa_settings, "2026-02-05")
    stages.check_templates(sa_settings, "2026-02-05")
    table = sa_settings.lake.read_partition(schemas.TEMPLATES, "2026-02-05").set_index("user_id")
    assert table.loc["rare", "state"] == "insufficient_history"
    assert (table.drop(index="rare")["state"] == "ok").all()
    assert table.loc["1000", "window_start"] == "2026-01-08" and table.loc["1000", "window_end"] == "2026-02-04"
    assert table["self_sim_query"].drop(index="rare").notna().all()
    assert table["uniqueness_time"].drop(index="rare").between(0, 1).all()

    genuine = training.score(sa_settings, "1000", "2026-02-05")
    assert genuine["decision"] in {"accept", "reject"} and 0 <= genuine["score"] <= 1
    assert len(genuine["features"]) == 4
    assert training.score(sa_settings, "rare", "2026-02-05")["decision"] == "insufficient_history"


def test_sparse_model_retrains_behind_the_gate_and_its_veto_rejects_a_replayed_day(sa_settings, generated_log):
    settings = with_overrides(sa_settings, sa_feature_set="sparse")
    _features_for(settings, day_range("2026-01-01", "2026-02-05"))
    version = training.retrain(settings, "2026-02-04")
    meta = training.registry(settings).meta(version)
    assert meta["params"]["features"] == panel_mod.SPARSE_FEATURES
    assert 0.5 < meta["metrics"]["accuracy"] <= 1.0 and "holdout_rows_vetoed" in meta["metrics"]
    assert training.promotion_gate(settings, version)["promoted"]
    veto = training.current_bundle(settings)["replay_veto"]
    protected = sorted(u for u, (tau, _) in veto["rules"].items() if tau < float("inf"))
    assert protected, veto["rules"]

    genuine = training.score(settings, protected[0], "2026-02-05")
    assert genuine["decision"] in {"accept", "reject"} and genuine["replay_veto"]["rule"]["calibrated_for_user"]
    # an attacker replays the user's previous day on 2026-02-05: the veto rejects it whatever the forest says
    day = settings.lake.read_partition(schemas.DAILY_FEATURES, "2026-02-05")
    before = settings.lake.read_partition(schemas.DAILY_FEATURES, "2026-02-04").set_index("user_id")
    replayed = day.user_id == protected[0]
    day.loc[replayed, "document"] = pd.Series([before.loc[protected[0], "document"]], index=day.index[replayed])
    settings.lake.write_partition(schemas.DAILY_FEATURES, "2026-02-05", day)
    attack = training.score(settings, protected[0], "2026-02-05")
    assert attack["replay_veto"]["vetoed"] and attack["decision"] == "reject"
    assert attack["replay_veto"]["copy_similarity"] == pytest.approx(1.0)


def test_gate_refuses_a_worse_model(sa_settings, generated_log):
    _features_for(sa_settings, day_range("2026-01-01", "2026-02-04"))
    reg = training.registry(sa_settings)
    first = training.retrain(sa_settings, "2026-02-04")
    assert training.promotion_gate(sa_settings, first)["promoted"]
    # a classifier that rejects everyone is measured on the same held-out days: clearly worse
    worse = training.retrain(sa_settings, "2026-02-04",
                             classifier_factory=lambda: DummyClassifier(strategy="constant", constant=0))
    assert reg.meta(worse)["metrics"]["accuracy"] < reg.meta(first)["metrics"]["accuracy"] - 0.05
    decision = training.promotion_gate(with_overrides(sa_settings, sa_gate_tolerance=0.0), worse)
    assert not decision["promoted"] and reg.current_version() == first
    history = [json.loads(line) for line in reg.lake.read_bytes("models/search_auth/history.jsonl").splitlines()]
    assert [h["promoted"] for h in history] == [True, False]


def test_feature_checkpoint_fails_on_inconsistent_rows(sa_settings, generated_log):
    _features_for(sa_settings, ["2026-01-01"])
    features = sa_settings.lake.read_partition(schemas.DAILY_FEATURES, "2026-01-01")
    broken = pd.concat([features, features.iloc[:1].assign(sqr=1.5, hour_sum=999)])
    sa_settings.lake.write_partition(schemas.DAILY_FEATURES, "2026-01-01", broken)
    with pytest.raises(CheckpointFailed) as failure:
        stages.check_daily_features(sa_settings, "2026-01-01")
    assert "sqr" in str(failure.value) and "hour_sum" in str(failure.value)
