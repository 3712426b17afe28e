"""Every domain's model offers the same surface (transforms.common.models.Model): fit, predict,
evaluate, save/load through the registry with its metadata, and the promotion gate.

Each domain provides ``tests/<domain>/model_example.py`` with ``example() -> (model, train, test,
rule)``: an unfitted model, small training and held-out data, and the domain's GateRule."""
import importlib

import pytest

from transforms.common.models import GateDecision, Model, ModelRegistry

DOMAINS = ["survey", "fingerprint", "member_id", "search_auth", "mouse"]


def _same(a, b) -> bool:
    import numpy as np
    import pandas as pd

    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
        return True
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(np.all(np.asarray(a, dtype=object) == np.asarray(b, dtype=object)))


@pytest.mark.parametrize("domain", DOMAINS)
def test_model_surface(domain, lake):
    module = importlib.import_module(f"tests.{domain}.model_example")
    model, train, test, rule = module.example()
    assert isinstance(model, Model)
    assert model.fit(train) is model
    predicted = model.predict(test)
    metrics = model.evaluate(test)
    assert rule.metric in metrics and all(isinstance(v, float) for v in metrics.values())
    registry = ModelRegistry(lake, model.name)
    version = registry.save(model, None, {"train": "example"}, metrics)
    assert registry.meta(version)["params"] == model.params
    loaded = registry.load(version)
    assert type(loaded) is type(model) and _same(loaded.predict(test), predicted)
    decision = registry.gate(version, rule)
    assert isinstance(decision, GateDecision) and decision.candidate == version
    files = {p.rsplit("/", 1)[-1] for p in lake.list_files(f"models/{model.name}/{version}")}
    assert files == {"model.pkl", "meta.json"}, "every part of a model lives in its one artifact"


def test_every_domain_has_an_example():
    missing = [d for d in DOMAINS if importlib.util.find_spec(f"tests.{d}.model_example") is None]
    assert not missing, f"no tests/<domain>/model_example.py for {missing}"
