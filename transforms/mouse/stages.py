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
    sessions, actions = features.compute(events, settings.mouse_pause_s, settings.mouse_min_action_points)
    lake.stage_partition(schemas.SESSION_FEATURES, ds, sessions)
    lake.stage_partition(schemas.ACTIONS, ds, actions)
    return {"sessions": int(len(sessions)), "actions": int(len(actions))}


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
    model (by verification AUC at the gate's window size) as a registry candidate."""
    lake = settings.lake
    train, test, s_train, s_test, a_train, a_test = _window_frames(settings, ds, train_days, test_days)
    models, evaluation = learn.train_and_evaluate(s_train, s_test, a_train, a_test, settings.window_sizes,
                                                  settings.mouse_trees, settings.mouse_seed)
    gate_k = str(_gate_window(evaluation, settings.mouse_gate_window))

    def gate_auc(name):
        return evaluation["actions"][name].get("by_k", {}).get(gate_k, {}).get("verification", {}).get("auc", float("nan"))

    chosen = max(evaluation["actions"], key=lambda n: (gate_auc(n) == gate_auc(n), gate_auc(n)))
    evaluation.update({"ds": ds, "train_days": train, "test_days": test, "chosen": chosen, "gate_window": int(gate_k),
                       "data": {"train_sessions": int(len(s_train)), "test_sessions": int(len(s_test)),
                                "users": sorted(learn.genuine(s_train)["user_id"].unique().tolist()),
                                "sources": sorted(set(s_train["source"]) | set(s_test["source"]))}})
    evaluation["identified_sessions"] = report.identify_sessions(models[chosen], learn.genuine(a_test))
    lake.write_json(evaluation_path(ds), evaluation)
    bundle = {"chosen": chosen, "action_model": models[chosen],
              "session_models": {k: v for k, v in models.items() if k.startswith("session_rf")}}
    metrics = {"verification_auc": gate_auc(chosen), "gate_window": int(gate_k),
               "identification_accuracy": evaluation["actions"][chosen]["by_k"][gate_k]["identification"]["accuracy"]}
    return ModelRegistry(lake, REGISTRY).save(
        bundle, {"model": chosen, "trees": settings.mouse_trees, "window_sizes": settings.window_sizes,
                 "pause_s": settings.mouse_pause_s}, {"train": train, "test": test}, metrics)


def promotion_gate(settings: MouseSettings, ds: str, version: str) -> dict:
    decision = ModelRegistry(settings.lake, REGISTRY).gate(version, GateRule(
        "verification_auc", tolerance=settings.mouse_gate_tolerance))
    settings.lake.write_json(f"reports/mouse/ds={ds}/gate.json", decision.to_dict())
    return decision.to_dict()


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
