"""The mouse pipeline's stages as plain functions of (settings, day): what the DAG tasks call.

Each stage reads its inputs from the lake and replaces its own partition, so reruns and backfills
of a day give the same result as the daily run.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from transforms.common import days
from transforms.common.models import GateRule, ModelRegistry
from transforms.common.quarantine import Quarantine
from transforms.mouse import balabit, checkpoints, features, learn, recorder, report, schemas
from transforms.mouse.settings import MouseSettings

log = logging.getLogger(__name__)
SETTINGS = MouseSettings  # what the DAGs load for these stages
REGISTRY = "mouse_identification"


def evaluation_path(ds: str) -> str:
    return f"reports/mouse/ds={ds}/evaluation.json"


def ingest_events(settings: MouseSettings, ds: str) -> dict:
    """The day's Balabit-layout inbox folder (if any) and recorder batches → ``mouse_events``."""
    lake = settings.lake
    quarantine = Quarantine("ingest")
    frames = []
    inbox = Path(settings.mouse_inbox) / f"ds={ds}"
    if inbox.is_dir():
        frames.append(balabit.load(inbox, quarantine))
    frames.append(recorder.batches_to_events(recorder.read_batches(lake, ds, quarantine), quarantine))
    events = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[-1]
    lake.stage_partition(schemas.EVENTS, ds, events)
    quarantine.write(lake, schemas.EVENTS.name, schemas.KEY, ds)
    counts = {"events": int(len(events)), "sessions": int(events["session_id"].nunique()),
              "quarantined": len(quarantine), "quarantine_reasons": quarantine.counts()}
    log.info("ingest %s: %s", ds, counts)
    return counts


def check_events(settings: MouseSettings, ds: str) -> None:
    checkpoints.events(settings.lake, ds, settings.lake.read_partition(schemas.EVENTS, ds, staged=True))
    settings.lake.publish_staged(schemas.EVENTS, ds)


def compute_features(settings: MouseSettings, ds: str) -> dict:
    lake = settings.lake
    events = lake.read_partition(schemas.EVENTS, ds)
    quarantine = Quarantine("features")
    sessions, actions = features.compute(events, settings.mouse_pause_s, settings.mouse_min_action_points,
                                         settings.mouse_resample_ms / 1000.0, settings.mouse_screen_normalise,
                                         quarantine=quarantine)
    lake.stage_partition(schemas.SESSION_FEATURES, ds, sessions)
    lake.stage_partition(schemas.ACTIONS, ds, actions)
    quarantine.write(lake, schemas.ACTIONS.name, schemas.KEY, ds)  # actions too short for features
    return {"sessions": int(len(sessions)), "actions": int(len(actions)), "short_actions": len(quarantine),
            "short_actions_by_reason": quarantine.counts()}


def check_features(settings: MouseSettings, ds: str) -> None:
    lake = settings.lake
    checkpoints.features(lake, ds, lake.read_partition(schemas.SESSION_FEATURES, ds, staged=True),
                         lake.read_partition(schemas.ACTIONS, ds, staged=True))
    lake.publish_staged(schemas.SESSION_FEATURES, ds)
    lake.publish_staged(schemas.ACTIONS, ds)


def periods(ds: str, train_days: int, test_days: int) -> tuple[list[str], list[str]]:
    """(training days, test days): the test period is the ``test_days`` ending at ``ds``, the
    training period the ``train_days`` right before it; the two never overlap."""
    spans = days.windows(ds, {"train": train_days, "test": test_days})
    return spans["train"], spans["test"]


def _window_frames(settings: MouseSettings, ds: str, train_days: int | None, test_days: int | None):
    """Session and action frames of the two periods (sizes default to the settings)."""
    lake = settings.lake
    train, test = periods(ds, int(train_days or settings.mouse_train_days), int(test_days or settings.mouse_test_days))
    have = set(lake.partitions(schemas.ACTIONS))
    train, test = [d for d in train if d in have], [d for d in test if d in have]
    read = lambda spec, days: lake.read(spec, days) if days else lake.read(spec, [])  # noqa: E731
    return (train, test, read(schemas.SESSION_FEATURES, train), read(schemas.SESSION_FEATURES, test),
            read(schemas.ACTIONS, train), read(schemas.ACTIONS, test))


def check_training_window(settings: MouseSettings, ds: str, train_days: int | None = None,
                          test_days: int | None = None) -> dict:
    train, test, s_train, s_test, _, _ = _window_frames(settings, ds, train_days, test_days)
    checkpoints.training_window(settings.lake, ds, s_train.assign(period="train"), s_test.assign(period="test"))
    return {"train_days": train, "test_days": test}


def _gate_window(evaluation: dict, wanted: int) -> int:
    """The configured window size, or the largest evaluated one below it (short test sessions
    may have no window of ``wanted`` actions)."""
    available = sorted({int(k) for r in evaluation["actions"].values() for k in r.get("by_k", {})})
    if not available:
        raise ValueError("no test windows to evaluate: the test period has no actions of trained users")
    return wanted if wanted in available else max([k for k in available if k <= wanted] or available[:1])


def train_candidate(settings: MouseSettings, ds: str, train_days: int | None = None, test_days: int | None = None) -> str:
    """Fit every model on the training period, evaluate on the test period, save the best action
    model (by impostor-protocol AUC at the gate's window, else one-vs-rest AUC) as a registry candidate."""
    lake = settings.lake
    train, test, s_train, s_test, a_train, a_test = _window_frames(settings, ds, train_days, test_days)
    models, evaluation = learn.train_and_evaluate(s_train, s_test, a_train, a_test, settings.window_sizes,
                                                  settings.mouse_trees, settings.mouse_seed,
                                                  settings.mouse_max_depth or None, _session_columns(settings))
    gate_k = str(_gate_window(evaluation, settings.mouse_gate_window))

    def gate_auc(name):
        return learn.gate_metric(evaluation["actions"][name], gate_k)[1]

    chosen = max(evaluation["actions"], key=lambda n: (gate_auc(n) == gate_auc(n), gate_auc(n)))
    metric_name = learn.gate_metric(evaluation["actions"][chosen], gate_k)[0]
    evaluation.update({"ds": ds, "train_days": train, "test_days": test, "chosen": chosen, "gate_window": int(gate_k),
                       "data": {"train_sessions": int(len(s_train)), "test_sessions": int(len(s_test)),
                                "users": sorted(learn.genuine(s_train)["user_id"].unique().tolist()),
                                "sources": sorted(set(s_train["source"]) | set(s_test["source"]))}})
    evaluation["identified_sessions"] = report.identify_sessions(models[chosen], learn.genuine(a_test))
    lake.write_json(evaluation_path(ds), evaluation)
    bundle = {"chosen": chosen, "action_model": models[chosen], "features": _feature_params(settings),
              "session_models": {k: v for k, v in models.items() if k.startswith("session_rf")}}
    metrics = {"gate_auc": gate_auc(chosen), "gate_metric": metric_name, "gate_window": int(gate_k),
               "identification_accuracy": evaluation["actions"][chosen]["by_k"][gate_k]["identification"]["accuracy"]}
    return ModelRegistry(lake, REGISTRY).save(
        bundle, {"model": chosen, "trees": settings.mouse_trees, "window_sizes": settings.window_sizes,
                 "pause_s": settings.mouse_pause_s}, {"train": train, "test": test}, metrics)


def _session_columns(settings: MouseSettings) -> list[str]:
    drop = features.SCREEN_EXTENT_FEATURES if settings.mouse_drop_screen_extent else []
    return [c for c in schemas.SESSION_FEATURE_NAMES if c not in drop]


def _feature_params(settings: MouseSettings) -> dict:
    return {"pause_s": settings.mouse_pause_s, "min_points": settings.mouse_min_action_points,
            "resample_s": settings.mouse_resample_ms / 1000.0, "screen_normalise": settings.mouse_screen_normalise}


def _rescore_current(settings: MouseSettings, registry: ModelRegistry, ds: str, candidate: str,
                     train_days: int | None, test_days: int | None) -> dict | None:
    """The current model's gate metric on the candidate's test period (same definition, same
    windows), so the gate compares two models on one test set. ``None`` when there is no current
    model or it cannot be re-scored (then the gate falls back to its stored figures, and says so)."""
    current = registry.current_version()
    if current is None or current == candidate:
        return None
    candidate_metrics = registry.meta(candidate)["metrics"]
    try:
        bundle = registry.load(current)
    except Exception as error:  # noqa: BLE001 - a tampered/unreadable current model: stored figures
        log.warning("current model %s cannot be re-scored (%s); the gate uses its stored figures", current, error)
        return None
    if not isinstance(bundle, dict) or "action_model" not in bundle:
        return None
    if bundle.get("features", _feature_params(settings)) != _feature_params(settings):
        log.warning("current model %s was trained on other feature settings; the gate uses its stored figures", current)
        return None
    _, _, _, _, _, a_test = _window_frames(settings, ds, train_days, test_days)
    k = str(candidate_metrics.get("gate_window", settings.mouse_gate_window))
    model = bundle["action_model"]
    result = learn.evaluate_action_model(model, learn.genuine(a_test), [int(k)])
    labelled = a_test[a_test["is_illegal"] >= 0]
    if labelled["is_illegal"].nunique() == 2:
        result["impostor_protocol"] = learn.impostor_protocol(model, labelled, [int(k)])
    name, value = learn.gate_metric(result, k)
    if name != candidate_metrics.get("gate_metric"):
        return None
    return {"gate_auc": value, "gate_metric": name, "version": current, "rescored_on": f"test days of {ds}"}


def promotion_gate(settings: MouseSettings, ds: str, version: str, train_days: int | None = None,
                   test_days: int | None = None) -> dict:
    registry = ModelRegistry(settings.lake, REGISTRY)
    current_metrics = _rescore_current(settings, registry, ds, version, train_days, test_days)
    decision = registry.gate(version, GateRule("gate_auc", tolerance=settings.mouse_gate_tolerance), current_metrics)
    out = {**decision.to_dict(), "current_rescored_on_same_test_set": current_metrics is not None,
           "pruned_versions": registry.prune(settings.mouse_keep_versions)}
    settings.lake.write_json(f"reports/mouse/ds={ds}/gate.json", out)
    return out


def build_report(settings: MouseSettings, ds: str) -> str:
    lake = settings.lake
    evaluation = lake.read_json(evaluation_path(ds))
    gate_path = f"reports/mouse/ds={ds}/gate.json"
    gate = lake.read_json(gate_path) if lake.exists(lake.path(gate_path)) else None
    return lake.write_bytes(f"reports/mouse/ds={ds}/report.md", report.render(evaluation, gate).encode())


# --- The Balabit challenge as shipped (issue 17): key = run_id, no dates ------------------------

def _balabit_dir(settings: MouseSettings, balabit_dir: str | None) -> Path:
    chosen = balabit_dir or settings.mouse_balabit_dir
    if not chosen:
        raise ValueError("no Balabit directory: give the balabit_dir conf or set trackscope_mouse_balabit_dir")
    return Path(chosen).expanduser().resolve()


def balabit_check(settings: MouseSettings, run_id: str, balabit_dir: str | None = None) -> dict:
    from transforms.mouse import challenge

    return challenge.check_directory(_balabit_dir(settings, balabit_dir))


def balabit_evaluate(settings: MouseSettings, run_id: str, balabit_dir: str | None = None,
                     compare: bool = False) -> dict:
    """Enrolment on training_files, impostor protocol on labelled test_files, gate (current model
    re-scored on the same test set), registry retention, report."""
    from transforms.mouse import challenge

    evaluation = challenge.run(settings, _balabit_dir(settings, balabit_dir), run_id, compare=bool(compare))
    return {"chosen": evaluation["chosen"], "candidate": evaluation["candidate"],
            "promoted": evaluation["gate"]["promoted"], "report": f"reports/mouse/balabit/{run_id}/report.md"}
