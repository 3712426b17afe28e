from transforms.common.models import ModelRegistry


def test_gate_promotes_first_and_better_refuses_worse(lake):
    registry = ModelRegistry(lake, "demo")
    first = registry.save({"w": 1}, {"trees": 10}, {"train": ["2026-01-01", "2026-01-28"]}, {"accuracy": 0.80})
    assert registry.gate(first, "accuracy").promoted
    worse = registry.save({"w": 2}, {"trees": 10}, {"train": ["2026-01-02", "2026-01-29"]}, {"accuracy": 0.70})
    decision = registry.gate(worse, "accuracy", tolerance=0.05)
    assert not decision.promoted and registry.current_version() == first
    assert registry.load() == {"w": 1}
    close = registry.save({"w": 3}, {}, {}, {"accuracy": 0.78})
    assert registry.gate(close, "accuracy", tolerance=0.05).promoted
    lower_error = registry.save({"w": 4}, {}, {}, {"accuracy": 0.9, "eer": 0.1})
    assert registry.meta(lower_error)["metrics"]["eer"] == 0.1
    assert len(registry.versions()) == 4
    assert lake.read_bytes("models/demo/history.jsonl").decode().count("\n") == 3
