"""The Balabit Mouse Dynamics Challenge, as it ships: enrolment on ``training_files``, verification
of the labelled ``test_files`` sessions (issue 17).

No dates are involved: the directory itself says which sessions are enrolment (training_files)
and which are test (test_files with a ``public_labels.csv`` label). Each test session *claims*
the user whose folder it sits in; ``is_illegal`` = 1 means another user produced it. That is the
**impostor protocol**, the headline here:

* score of a decision = mean P(claimed user) over k consecutive actions of the test session
  (k = 1, 5, 10, 20) or over all of its actions ("session");
* positives are legal windows/sessions; ROC AUC and EER per claimed user and pooled over users;
* beside the action models: the paper's random forest on whole-session features (SPEC S1.4),
  scored the same way on whole sessions;
* identification (which user?) on the legal test sessions, which never share a session with
  enrolment (the split is by session, by construction);
* the "one-vs-rest" figure of the daily pipeline (other users' *genuine* sessions as impostors)
  is reported separately under that name, never as verification AUC.

The promotion gate scores the current registry model on the same test set as the candidate.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, asdict
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from transforms.common.models import GateRule, ModelRegistry
from transforms.common.quarantine import Quarantine
from transforms.mouse import balabit, features, learn
from transforms.mouse.features import SCREEN_EXTENT_FEATURES
from transforms.mouse.learn import (SESSION_K, _auc_eer, claimed_scores, impostor_protocol,  # noqa: F401
                                    protocol_table, window_table)
from transforms.mouse.schemas import ACTION_FEATURE_NAMES, SESSION_FEATURE_NAMES

log = logging.getLogger(__name__)
REGISTRY = "mouse_balabit"
PAPER_SESSION_RF = "session_rf"


@dataclass(frozen=True)
class FeatureConfig:
    """How features are computed; stored with each model so it can be re-scored on new data."""
    pause_s: float = 1.0
    min_points: int = 4
    resample_s: float = 0.0
    screen_normalise: bool = False
    drop_screen_extent: bool = False

    @property
    def session_columns(self) -> list[str]:
        if self.drop_screen_extent:
            return [c for c in SESSION_FEATURE_NAMES if c not in SCREEN_EXTENT_FEATURES]
        return list(SESSION_FEATURE_NAMES)

    @classmethod
    def from_settings(cls, settings) -> "FeatureConfig":
        return cls(float(settings.mouse_pause_s), int(settings.mouse_min_action_points),
                   float(settings.mouse_resample_ms) / 1000.0, bool(settings.mouse_screen_normalise),
                   bool(settings.mouse_drop_screen_extent))


@dataclass
class Data:
    """Events and features of one Balabit directory under one feature configuration."""
    train_events: pd.DataFrame
    test_events: pd.DataFrame
    quarantine: Quarantine
    load_s: float


def load(root: Path) -> Data:
    """Enrolment events (training_files) and labelled test events (test_files) of ``root``."""
    root = Path(root)
    if not (root / "training_files").is_dir():
        raise FileNotFoundError(f"{root} is not a Balabit directory (no training_files/)")
    if not (root / "public_labels.csv").is_file():
        raise FileNotFoundError(f"{root} has no public_labels.csv (filename,is_illegal): nothing to verify")
    quarantine = Quarantine("balabit")
    started = time.perf_counter()
    train = balabit.load(root, quarantine, parts=("training_files",))
    test = balabit.load(root, quarantine, parts=("test_files",))
    return Data(train, test, quarantine, time.perf_counter() - started)


def compute_features(events: pd.DataFrame, config: FeatureConfig, quarantine: Quarantine | None = None):
    return features.compute(events, config.pause_s, config.min_points, config.resample_s, config.screen_normalise,
                            quarantine=quarantine)


def session_protocol(model, columns: list[str], test_sessions: pd.DataFrame) -> dict:
    """The paper's session random forest under the same protocol (whole sessions only)."""
    labelled = test_sessions[test_sessions["is_illegal"] >= 0].reset_index(drop=True)
    probabilities = model.predict_proba(learn._x(labelled, columns))
    column = {u: i for i, u in enumerate(model.classes_)}
    index = labelled["user_id"].map(column)
    scores = np.where(index.notna(), probabilities[np.arange(len(labelled)), index.fillna(0).astype(int)], 0.0)
    return {SESSION_K: protocol_table(labelled.assign(score=scores)[["user_id", "is_illegal", "score"]])}


def identification(model, test_actions: pd.DataFrame, window_sizes: list[int]) -> dict:
    """Which user? on the legal test sessions (owner known; sessions never seen in enrolment)."""
    legal = test_actions[test_actions["is_illegal"] == 0].reset_index(drop=True)
    legal = legal[legal["user_id"].isin(model.classes_)].reset_index(drop=True)
    if legal.empty:
        return {}
    probabilities = model.predict_proba(learn._x(legal, ACTION_FEATURE_NAMES))
    out = {}
    for k in [*window_sizes, SESSION_K]:
        if k == SESSION_K:
            groups = legal.groupby("session_id", sort=True).indices
            users = [legal["user_id"].iloc[p[0]] for p in groups.values()]
            rows = np.array([probabilities[p].mean(axis=0) for p in groups.values()])
        else:
            users, rows = learn.windows(legal, probabilities, int(k))
        if not len(users):
            continue
        predicted = [model.classes_[i] for i in np.asarray(rows).argmax(axis=1)]
        out[str(k)] = learn.identification_scores(users, predicted)
    return out


def one_vs_rest(model, test_actions: pd.DataFrame, window_sizes: list[int]) -> dict:
    """The daily pipeline's figure: each user against *other users' genuine* test windows. Not
    the impostor protocol (no impostor imitated anybody); kept under its own name for comparison."""
    result = learn.evaluate_action_model(model, learn.genuine(test_actions[test_actions["is_illegal"] >= 0]),
                                         window_sizes)
    return {k: {"auc": v["one_vs_rest"]["auc"], "eer": v["one_vs_rest"]["eer"]}
            for k, v in result.get("by_k", {}).items()}


def model_bytes(model) -> int:
    import io

    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return len(buffer.getvalue())


def evaluate(data: Data, config: FeatureConfig, window_sizes: list[int], trees: int, seed: int,
             max_depth: int | None = None, models: tuple[str, ...] = ("action_rf", "action_hgb")) -> tuple[dict, dict]:
    """(fitted models, evaluation) of one feature configuration."""
    started = time.perf_counter()
    quarantine = Quarantine("features")
    s_train, a_train = compute_features(data.train_events, config, quarantine)
    s_test, a_test = compute_features(data.test_events, config, quarantine)
    feature_s = time.perf_counter() - started
    fitted, result = {}, {"config": asdict(config), "feature_seconds": round(feature_s, 2), "models": {}}
    result["data"] = {"train_sessions": int(len(s_train)), "train_actions": int(len(a_train)),
                      "test_sessions": int(len(s_test)), "test_actions": int(len(a_test)),
                      "illegal_test_sessions": int((s_test["is_illegal"] == 1).sum()),
                      "users": sorted(s_train["user_id"].unique().tolist()),
                      "short_actions": quarantine.counts()}
    with threadpool_limits(limits=1, user_api="openmp"):
        candidates = learn.action_models(trees, seed, max_depth=max_depth)
        for name in models:
            model = candidates[name]
            fit_started = time.perf_counter()
            model.fit(learn._x(a_train, ACTION_FEATURE_NAMES), a_train["user_id"])
            fitted[name] = model
            result["models"][name] = {
                "protocol": impostor_protocol(model, a_test, window_sizes),
                "identification": identification(model, a_test, window_sizes),
                "one_vs_rest": one_vs_rest(model, a_test, window_sizes),
                "fit_seconds": round(time.perf_counter() - fit_started, 2), "bytes": model_bytes(model)}
        columns = config.session_columns
        session_rf = learn.session_model(trees, seed).fit(learn._x(s_train, columns), s_train["user_id"])
        fitted[PAPER_SESSION_RF] = session_rf
        result["models"][PAPER_SESSION_RF] = {"protocol": session_protocol(session_rf, columns, s_test),
                                              "features": columns, "bytes": model_bytes(session_rf)}
    result["sampling_rates"] = features.sampling_rates(
        pd.concat([data.train_events, data.test_events], ignore_index=True)).to_dict(orient="records")
    return fitted, {**result, "_test_actions": a_test}


def pooled_auc(evaluation: dict, model: str, k: str) -> float:
    value = evaluation["models"].get(model, {}).get("protocol", {}).get(k, {}).get("pooled", {}).get("auc")
    return float("nan") if value is None else float(value)


def choose(evaluation: dict, gate_k: str) -> str:
    """The action model with the best pooled impostor-protocol AUC at the gate's k."""
    names = [n for n in evaluation["models"] if n != PAPER_SESSION_RF]
    return max(names, key=lambda n: (not math.isnan(pooled_auc(evaluation, n, gate_k)), pooled_auc(evaluation, n, gate_k)))


def run(settings, root: Path, run_id: str, compare: bool = False) -> dict:
    """Enrol, verify, gate and report one Balabit directory; returns the evaluation (also written
    to ``reports/mouse/balabit/<run_id>/``). ``compare``: also evaluate the other robustness
    configurations (raw / resampled / resampled + screen-normalised without extent features)."""
    from transforms.common.keys import check_key
    from transforms.mouse import report

    run_id = check_key(run_id, "run_id")
    lake = settings.lake
    data = load(root)
    configured = FeatureConfig.from_settings(settings)
    configs = {"configured": configured}
    if compare:
        configs.update({"raw": FeatureConfig(configured.pause_s, configured.min_points),
                        "resampled": FeatureConfig(configured.pause_s, configured.min_points, 0.02),
                        "resampled_screen_invariant": FeatureConfig(configured.pause_s, configured.min_points, 0.02,
                                                                    True, True)})
    gate_k = str(settings.mouse_gate_window)
    evaluation = {"run_id": run_id, "root": str(Path(root).resolve()), "gate_window": gate_k,
                  "window_sizes": settings.window_sizes, "load_seconds": round(data.load_s, 2),
                  "events": {"train": int(len(data.train_events)), "test": int(len(data.test_events))},
                  "quarantine": data.quarantine.counts(), "variants": {}}
    chosen_models = None
    for label, config in configs.items():
        if label != "configured" and config == configured:
            continue
        fitted, result = evaluate(data, config, settings.window_sizes, settings.mouse_trees, settings.mouse_seed,
                                  settings.mouse_max_depth or None)
        test_actions = result.pop("_test_actions")
        evaluation["variants"][label] = result
        if label == "configured":
            chosen_models, configured_test = fitted, test_actions
    headline = evaluation["variants"]["configured"]
    chosen = choose(headline, gate_k)
    evaluation["chosen"] = chosen
    evaluation["sampling_rates"] = headline.pop("sampling_rates")
    for result in evaluation["variants"].values():
        result.pop("sampling_rates", None)
    data.quarantine.write(lake, "mouse_balabit_events", "run", run_id)
    registry = ModelRegistry(lake, REGISTRY)
    metric = f"impostor_auc_k{gate_k}"
    bundle = {"chosen": chosen, "action_model": chosen_models[chosen], "features": asdict(configured),
              "session_model": chosen_models[PAPER_SESSION_RF], "session_columns": configured.session_columns}
    version = registry.save(bundle, {"model": chosen, "trees": settings.mouse_trees,
                                     "max_depth": settings.mouse_max_depth, "features": asdict(configured)},
                            {"enrolment": "training_files", "test": "test_files (labelled)", "run_id": run_id},
                            {metric: pooled_auc(headline, chosen, gate_k),
                             "impostor_auc_session": pooled_auc(headline, chosen, SESSION_K)})
    evaluation["candidate"] = version
    current_metrics = _rescore_current(registry, data, configured, configured_test, gate_k, metric)
    evaluation["current_rescored"] = current_metrics
    decision = registry.gate(version, GateRule(metric, tolerance=settings.mouse_gate_tolerance), current_metrics)
    evaluation["gate"] = decision.to_dict()
    evaluation["pruned_versions"] = registry.prune(settings.mouse_keep_versions)
    base = f"reports/mouse/balabit/{run_id}"
    lake.write_json(f"{base}/evaluation.json", evaluation)
    lake.write_bytes(f"{base}/report.md", report.render_balabit(evaluation).encode())
    return evaluation


def _rescore_current(registry: ModelRegistry, data: Data, configured: FeatureConfig, test_actions: pd.DataFrame,
                     gate_k: str, metric: str) -> dict | None:
    """The current model's metric on the candidate's test set (its own feature configuration)."""
    if registry.current_version() is None:
        return None
    current = registry.load()
    if not isinstance(current, dict) or "action_model" not in current:
        return None
    config = FeatureConfig(**current.get("features", asdict(configured)))
    actions = test_actions if config == configured else compute_features(data.test_events, config)[1]
    table = impostor_protocol(current["action_model"], actions, [int(gate_k)])
    auc = table[gate_k]["pooled"]["auc"]
    return {metric: float("nan") if auc is None else float(auc), "version": registry.current_version(),
            "rescored_on": "the candidate's test set"}


def check_directory(root: Path) -> dict:
    """Counts of a Balabit directory's layout, or an error saying what is missing."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Balabit directory {root} does not exist")
    labels = balabit.read_labels(root) if (root / "public_labels.csv").is_file() else {}
    found, unlabelled = balabit.sessions(root, labels)
    counts = {"training_sessions": sum(p == "training_files" for p, *_ in found),
              "labelled_test_sessions": sum(p == "test_files" for p, *_ in found),
              "illegal_test_sessions": sum(p == "test_files" and label == 1 for p, _, _, label in found),
              "unlabelled_test_sessions_skipped": unlabelled,
              "users": len({u for p, _, u, _ in found if p == "training_files"})}
    problems = []
    if counts["users"] < 2:
        problems.append("training_files/ needs sessions of at least 2 users")
    if not labels:
        problems.append("public_labels.csv (filename,is_illegal) is missing or empty")
    elif counts["labelled_test_sessions"] == 0:
        problems.append("no test_files session is listed in public_labels.csv")
    if problems:
        raise ValueError(f"{root}: " + "; ".join(problems))
    log.info("balabit directory %s: %s", root, counts)
    return counts


def main(argv: list[str] | None = None) -> int:
    """``python -m transforms.mouse.challenge BALABIT_DIR [--run-id ID] [--compare]``"""
    import argparse
    import json

    from transforms.common import settings as settings_module
    from transforms.mouse.settings import MouseSettings

    parser = argparse.ArgumentParser(description="Enrol on training_files, verify labelled test_files (Balabit "
                                                 "impostor protocol), gate and report. Settings: TRACKSCOPE_MOUSE_*.")
    parser.add_argument("root", type=Path, help="directory with training_files/, test_files/, public_labels.csv")
    parser.add_argument("--run-id", default="balabit", help="report folder reports/mouse/balabit/<run-id>/")
    parser.add_argument("--compare", action="store_true", help="also evaluate raw / resampled / screen-invariant")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = settings_module.load(MouseSettings)
    check_directory(args.root)
    evaluation = run(settings, args.root, args.run_id, compare=args.compare)
    headline = evaluation["variants"]["configured"]["models"]
    summary = {name: {k: v["pooled"]["auc"] for k, v in m["protocol"].items()} for name, m in headline.items()}
    print(json.dumps({"run_id": evaluation["run_id"], "chosen": evaluation["chosen"],
                      "pooled_auc": summary, "gate": evaluation["gate"]["reason"],
                      "report": f"reports/mouse/balabit/{evaluation['run_id']}/report.md"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
