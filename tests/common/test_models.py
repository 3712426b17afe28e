import pytest

from transforms.common.models import GateRule, ModelRegistry, TamperedModel


def test_gate_promotes_first_and_better_refuses_worse(lake):
    registry = ModelRegistry(lake, "demo")
    first = registry.save({"w": 1}, {"trees": 10}, {"train": ["2026-01-01", "2026-01-28"]}, {"accuracy": 0.80})
    assert registry.gate(first, GateRule("accuracy")).promoted
    worse = registry.save({"w": 2}, {"trees": 10}, {"train": ["2026-01-02", "2026-01-29"]}, {"accuracy": 0.70})
    decision = registry.gate(worse, GateRule("accuracy", tolerance=0.05))
    assert not decision.promoted and registry.current_version() == first
    assert decision.current_metrics == {"accuracy": 0.80} and decision.candidate_metrics == {"accuracy": 0.70}
    assert registry.load() == {"w": 1}
    close = registry.save({"w": 3}, {}, {}, {"accuracy": 0.78})
    assert registry.gate(close, GateRule("accuracy", tolerance=0.05)).promoted
    lower_error = registry.save({"w": 4}, {}, {}, {"accuracy": 0.9, "eer": 0.1})
    assert registry.meta(lower_error)["metrics"]["eer"] == 0.1
    assert len(registry.versions()) == 4
    assert len(registry.decisions()) == 3


def test_gate_compares_with_the_current_model_measured_on_the_same_data(lake):
    registry = ModelRegistry(lake, "demo")
    registry.gate(registry.save({"w": 1}, {}, {}, {"auc": 0.99}), GateRule("auc"))  # figure from easier data
    candidate = registry.save({"w": 2}, {}, {}, {"auc": 0.90})
    assert registry.gate(candidate, GateRule("auc"), current_metrics={"auc": 0.85}).promoted


def test_floors_and_ceilings_refuse_even_the_first_model(lake):
    registry = ModelRegistry(lake, "linker")
    rule = GateRule("link_accuracy", floors={"link_accuracy": 0.9}, ceilings={"false_merge_rate": 0.01})
    bad = registry.save({"w": 1}, {}, {}, {"link_accuracy": 0.4, "false_merge_rate": 0.3})
    decision = registry.gate(bad, rule)
    assert not decision.promoted and registry.current_version() is None
    assert len(decision.failed_limits) == 2 and "floor" in decision.reason and "ceiling" in decision.reason
    good = registry.save({"w": 2}, {}, {}, {"link_accuracy": 0.95, "false_merge_rate": 0.005})
    assert registry.gate(good, rule).promoted


def test_a_tampered_artifact_is_refused_before_unpickling(lake, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKSCOPE_HOME", str(tmp_path / "home"))
    registry = ModelRegistry(lake, "demo")
    version = registry.save({"w": 1}, {}, {}, {"accuracy": 0.8})
    assert registry.load(version) == {"w": 1}
    path = f"models/demo/{version}/model.pkl"
    import io
    import joblib

    evil = io.BytesIO()
    joblib.dump({"w": "evil"}, evil)
    lake.write_bytes(path, evil.getvalue())
    with pytest.raises(TamperedModel):
        registry.load(version)
    # rewriting the recorded hashes in meta.json does not help without the signing key
    import hashlib

    meta = registry.meta(version)
    meta["sha256"] = hashlib.sha256(evil.getvalue()).hexdigest()
    meta["hmac_sha256"] = hashlib.sha256(b"guess" + evil.getvalue()).hexdigest()
    lake.write_json(f"models/demo/{version}/meta.json", meta)
    with pytest.raises(TamperedModel):
        registry.load(version)


def test_a_model_signed_with_another_key_is_refused(lake, monkeypatch):
    monkeypatch.setenv("TRACKSCOPE_MODEL_SIGNING_KEY", "key-one")
    version = ModelRegistry(lake, "demo").save({"w": 1}, {}, {}, {})
    monkeypatch.setenv("TRACKSCOPE_MODEL_SIGNING_KEY", "key-two")
    with pytest.raises(TamperedModel):
        ModelRegistry(lake, "demo").load(version)


def test_prune_keeps_current_previous_and_newest(lake):
    registry = ModelRegistry(lake, "demo")
    versions = []
    for i, accuracy in enumerate([0.5, 0.6, 0.4, 0.4, 0.4, 0.4]):
        versions.append(registry.save({"w": i}, {}, {}, {"accuracy": accuracy}))
        registry.gate(versions[-1], GateRule("accuracy"))
    assert registry.current_version() == versions[1]
    gone = registry.prune(keep_last=2)
    assert set(registry.versions()) == {versions[0], versions[1], versions[4], versions[5]}
    assert set(gone) == {versions[2], versions[3]}
    assert registry.load() == {"w": 1}
