"""Clean model choice for the Balabit challenge: tune on enrolment sessions only, report on the
labelled test sessions once (issue 17).

``validate`` (touches ``training_files`` only):
* each user's enrolment sessions are dealt into ``N_FOLDS`` folds (session-grouped: a session is
  never split between fit and validation); every candidate is fitted on the other folds and
  predicts the held-out fold, giving out-of-fold class probabilities for every enrolment action;
* held-out sessions are cut into pseudo test sessions of ``VALIDATION_SESSION_ACTIONS`` actions;
  each pseudo session is *claimed* by every enrolled user: by its owner it is legal, by anybody
  else it is an impostor (the challenge's impostors are other users' data mixed in, per its
  README); decisions of k = 1, 5, 10, 20 actions and whole pseudo sessions, pooled and per user;
* calibrated scoring is cross-fitted: the calibration for fold f comes from the other folds'
  out-of-fold scores;
* the selected (candidate, scoring) maximises ``OBJECTIVE``, the mean pooled validation AUC at
  k = 1 and k = 20 (the issue's two goals). Written to ``selection.json``.

``test`` (needs ``selection.json``): fits the selected candidate, its twin without the
screen-position features, today's defaults and the paper's session random forest (with and
without screen extents) on all enrolment sessions and scores the labelled test sessions with the
impostor protocol, once. Nothing here feeds a test figure back into a choice.

    python -m transforms.mouse.tuning BALABIT_DIR --work DIR validate [--max-seconds 480]
    python -m transforms.mouse.tuning BALABIT_DIR --work DIR test [--max-seconds 480]

Both are resumable: features, out-of-fold probabilities and fitted test scores are cached under
``--work``, and a run stops starting new fits after ``--max-seconds`` (the shared machine runs
heavy jobs in slots of about ten minutes).
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from transforms.mouse import learn, verifier
from transforms.mouse.verifier import SCORINGS, Candidate

log = logging.getLogger(__name__)
N_FOLDS = 3
VALIDATION_SESSION_ACTIONS = 50  # length of a pseudo test session, fixed before looking at any result
K_VALUES = ["1", "5", "10", "20", learn.SESSION_K]
OBJECTIVE = ("1", "20")
SEED = 7
CANDIDATES = [  # fitted in this order (most informative first, so partial runs say something)
    Candidate("hgb_ext_pos", extended=True, positions=True),
    Candidate("hgb_ext", extended=True),
    # the setting main used before 300 x 31 (that change was made on test figures; here validation decides)
    Candidate("hgb_ext_pos_small", extended=True, positions=True, max_iter=120, max_leaf_nodes=15),
]
# what main scores today (base features, mean probability): fitted in the test stage as comparators.
# They are not in the validation grid only because the shared machine's heavy-job lock left no time
# for six more fold fits; ``validate --with-baselines`` adds them.
BASELINES = {Candidate("rf_base", model="rf"): "mean_prob", Candidate("hgb_base"): "mean_prob"}


class OutOfTime(Exception):
    """The run's time budget is spent; rerun to continue from the cache."""


class Budget:
    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def check(self, what: str) -> None:
        if time.monotonic() > self.deadline:
            raise OutOfTime(f"time budget spent before {what}; rerun to continue")


# ---------------------------------------------------------------- features (cached)

def feature_frames(root: Path, work: Path) -> dict[str, pd.DataFrame]:
    """Session and extended action features of enrolment and labelled test sessions (raw
    samples, no resampling), cached as parquet under ``work``."""
    from transforms.mouse import challenge, features

    names = ["train_sessions", "train_actions", "test_sessions", "test_actions"]
    paths = {n: work / "features" / f"{n}.parquet" for n in names}
    if all(p.exists() for p in paths.values()):
        return {n: pd.read_parquet(p) for n, p in paths.items()}
    data = challenge.load(root)
    config = challenge.FeatureConfig()
    frames = {}
    for part, events in (("train", data.train_events), ("test", data.test_events)):
        sessions, actions = features.compute(events, config.pause_s, config.min_points, extended=True)
        frames[f"{part}_sessions"], frames[f"{part}_actions"] = sessions, actions
    (work / "features").mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_parquet(paths[name])
    return frames


# ---------------------------------------------------------------- folds and pseudo sessions

def session_folds(actions: pd.DataFrame, n_folds: int = N_FOLDS, seed: int = SEED) -> np.ndarray:
    """Fold of each action: each user's sessions are shuffled and dealt round-robin into folds."""
    rng = np.random.default_rng(seed)
    fold_of = {}
    for _, sessions in actions.groupby("user_id", sort=True)["session_id"]:
        order = sorted(sessions.unique())
        rng.shuffle(order)
        fold_of.update({s: i % n_folds for i, s in enumerate(order)})
    return actions["session_id"].map(fold_of).to_numpy(int)


def pseudo_sessions(actions: pd.DataFrame, length: int = VALIDATION_SESSION_ACTIONS) -> pd.Series:
    """Consecutive chunks of ``length`` actions of each session, as test-session-sized units."""
    position = actions.groupby("session_id", sort=False).cumcount()
    return actions["session_id"].astype(str) + "#" + (position // length).astype(str)


# ---------------------------------------------------------------- out-of-fold probabilities

def _classes(actions: pd.DataFrame) -> list[str]:
    return sorted(actions["user_id"].unique())


def out_of_fold(candidate: Candidate, actions: pd.DataFrame, folds: np.ndarray, work: Path,
                budget: Budget) -> np.ndarray:
    """Class probabilities of every enrolment action from a model fitted without its session's
    fold (cached per fold)."""
    classes = _classes(actions)
    out = np.zeros((len(actions), len(classes)))
    x = verifier.matrix(actions, candidate.columns)
    for fold in range(folds.max() + 1):
        path = work / "oof" / candidate.name / f"fold{fold}.npy"
        held = folds == fold
        if not path.exists():
            budget.check(f"{candidate.name} fold {fold}")
            started = time.perf_counter()
            with threadpool_limits(limits=1, user_api="openmp"):
                model = candidate.estimator(SEED).fit(x[~held], actions["user_id"].to_numpy()[~held])
            if list(model.classes_) != classes:
                raise ValueError(f"fold {fold} lacks users: {sorted(set(classes) - set(model.classes_))}")
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, model.predict_proba(x[held]))
            log.info("%s fold %d fitted in %.0f s", candidate.name, fold, time.perf_counter() - started)
        out[held] = np.load(path)
    return out


def fold_priors(actions: pd.DataFrame, folds: np.ndarray) -> np.ndarray:
    """Per action: the class shares of the enrolment actions its fold model was fitted on."""
    classes = _classes(actions)
    out = np.zeros((len(actions), len(classes)))
    for fold in range(folds.max() + 1):
        held = folds == fold
        out[held] = verifier.priors(actions["user_id"][~held], classes)
    return out


def oof_scores(probabilities: np.ndarray, actions: pd.DataFrame, folds: np.ndarray, scoring: str) -> np.ndarray:
    """Per action and class: validation scores; calibration for a fold is fitted on the other
    folds' out-of-fold LLRs (cross-fitted, so no fold is scored by parameters it shaped)."""
    prior = fold_priors(actions, folds)
    if scoring == "mean_prob":
        return probabilities
    llr = verifier.logit(probabilities) - verifier.logit(prior)
    if scoring == "mean_llr":
        return llr
    classes, owners = _classes(actions), actions["user_id"].to_numpy()
    out = np.zeros_like(llr)
    for fold in range(folds.max() + 1):
        held = folds == fold
        params = verifier.fit_calibration(llr[~held], owners[~held], classes)
        out[held] = llr[held] * params[:, 0][None, :] + params[:, 1][None, :]
    return out


# ---------------------------------------------------------------- validation decisions

def _auc_eer(labels: np.ndarray, scores: np.ndarray) -> dict:
    if labels.all() or not labels.any():
        return {"auc": None, "eer": None, "n": int(labels.size)}
    return {"auc": float(roc_auc_score(labels, scores)), "eer": learn.equal_error_rate(labels, scores),
            "n": int(labels.size)}


def validation_table(scores: np.ndarray, actions: pd.DataFrame, units: pd.Series) -> dict:
    """Every pseudo session claimed by every enrolled user; per k: pooled and per-user AUC / EER."""
    classes = _classes(actions)
    frame = pd.DataFrame({"unit": units.to_numpy(), "owner": actions["user_id"].to_numpy()})
    out = {}
    for k in K_VALUES:
        if k == learn.SESSION_K:
            windows = frame.assign(window=0)
        else:
            windows = frame.assign(window=frame.groupby("unit", sort=False).cumcount() // int(k))
            size = windows.groupby(["unit", "window"])["owner"].transform("size")
            windows = windows[size == int(k)]  # an incomplete last window is no decision
        codes = windows.groupby(["unit", "window"], sort=True).ngroup().to_numpy()
        means = pd.DataFrame(scores[windows.index.to_numpy()]).groupby(codes).mean().to_numpy()
        owners = windows["owner"].groupby(codes).first().to_numpy()
        labels = owners[:, None] == np.array(classes)[None, :]
        users = {u: _auc_eer(labels[:, j], means[:, j]) for j, u in enumerate(classes)}
        aucs = [v["auc"] for v in users.values() if v["auc"] is not None]
        out[k] = {"pooled": _auc_eer(labels.ravel(), means.ravel()),
                  "mean_over_users": float(np.mean(aucs)) if aucs else None, "users": users,
                  "decisions": int(len(means))}
    return out


def objective(table: dict) -> float:
    return float(np.mean([table[k]["pooled"]["auc"] for k in OBJECTIVE]))


def validate(root: Path, work: Path, max_seconds: float, with_baselines: bool = False) -> dict:
    """Out-of-fold validation of every candidate x scoring; writes ``validation.json`` and, once
    every candidate is done, ``selection.json``."""
    budget = Budget(max_seconds)
    frames = feature_frames(root, work)
    actions = frames["train_actions"].reset_index(drop=True)
    folds, units = session_folds(actions), pseudo_sessions(actions)
    results = {}
    for candidate in CANDIDATES + (list(BASELINES) if with_baselines else []):
        probabilities = out_of_fold(candidate, actions, folds, work, budget)
        results[candidate.name] = {"candidate": asdict(candidate), "scorings": {}}
        for scoring in SCORINGS:
            table = validation_table(oof_scores(probabilities, actions, folds, scoring), actions, units)
            results[candidate.name]["scorings"][scoring] = {"objective": objective(table), "by_k": table}
    best = max(((name, scoring) for name, r in results.items() for scoring in r["scorings"]),
               key=lambda pair: results[pair[0]]["scorings"][pair[1]]["objective"])
    summary = {"folds": N_FOLDS, "pseudo_session_actions": VALIDATION_SESSION_ACTIONS,
               "objective": f"mean pooled validation AUC at k = {' and '.join(OBJECTIVE)}",
               "enrolment_actions": int(len(actions)), "candidates": results,
               "selected": {"candidate": best[0], "scoring": best[1],
                            "objective": results[best[0]]["scorings"][best[1]]["objective"]}}
    (work / "validation.json").write_text(json.dumps(summary, indent=1))
    (work / "selection.json").write_text(json.dumps({**summary["selected"],
                                                     "spec": results[best[0]]["candidate"]}, indent=1))
    return summary


# ---------------------------------------------------------------- the one test run

def fit_verifier(candidate: Candidate, scoring: str, frames: dict, work: Path, budget: Budget,
                 models: dict | None = None) -> verifier.Verifier:
    """``candidate`` fitted on all enrolment actions (reused from ``models`` when already fitted);
    calibration (if any) from its out-of-fold scores."""
    actions = frames["train_actions"].reset_index(drop=True)
    classes = _classes(actions)
    calibration = None
    if scoring == "calibrated_llr":
        folds = session_folds(actions)
        probabilities = out_of_fold(candidate, actions, folds, work, budget)
        llr = verifier.logit(probabilities) - verifier.logit(fold_priors(actions, folds))
        calibration = verifier.fit_calibration(llr, actions["user_id"].to_numpy(), classes)
    models = {} if models is None else models
    if candidate not in models:
        budget.check(f"the final fit of {candidate.name}")
        with threadpool_limits(limits=1, user_api="openmp"):
            models[candidate] = candidate.estimator(SEED).fit(verifier.matrix(actions, candidate.columns),
                                                              actions["user_id"])
    return verifier.Verifier(candidate, scoring, models[candidate], verifier.priors(actions["user_id"], classes),
                             calibration)


def test_protocol(fitted: verifier.Verifier, test_actions: pd.DataFrame) -> dict:
    labelled = test_actions[test_actions["is_illegal"] >= 0].reset_index(drop=True)
    scores = fitted.action_scores(labelled)
    return {k: learn.protocol_table(learn.window_table(labelled, scores, k)) for k in K_VALUES}


def session_rf_protocol(frames: dict, drop_extent: bool) -> dict:
    from transforms.mouse import challenge

    columns = challenge.FeatureConfig(drop_screen_extent=drop_extent).session_columns
    train = frames["train_sessions"]
    model = learn.session_model(150, SEED).fit(learn._x(train, columns), train["user_id"])
    return challenge.session_protocol(model, columns, frames["test_sessions"])


def test(root: Path, work: Path, max_seconds: float) -> dict:
    """The labelled test sessions scored once by the validation's choice and the comparators."""
    selection_path = work / "selection.json"
    if not selection_path.exists():
        raise FileNotFoundError("no selection.json: run `validate` to completion first (choices come from validation)")
    selection = json.loads(selection_path.read_text())
    chosen = Candidate(**selection["spec"])
    budget = Budget(max_seconds)
    frames = feature_frames(root, work)
    runs = {"selected": (chosen, selection["scoring"])}
    if chosen.positions:
        twin = chosen.without_positions()
        # the grid's own twin (same settings) when there is one: its out-of-fold scores are cached
        same = [c for c in CANDIDATES if asdict(c) | {"name": twin.name} == asdict(twin)]
        runs["selected_without_positions"] = (same[0] if same else twin, selection["scoring"])
    runs.update({f"main_{c.name}": (c, scoring) for c, scoring in BASELINES.items()})
    path = work / "test.json"
    result = json.loads(path.read_text()) if path.exists() else {}
    result.update({"selection": selection, "note": "figures on the labelled test sessions; nothing here was used "
                                                   "to choose a setting"})
    models: dict = {}
    for label, (candidate, scoring) in runs.items():
        if label in result.get("models", {}):
            continue
        started = time.perf_counter()
        fitted = fit_verifier(candidate, scoring, frames, work, budget, models)
        result.setdefault("models", {})[label] = {"candidate": asdict(candidate), "scoring": scoring,
                                                  "protocol": test_protocol(fitted, frames["test_actions"]),
                                                  "seconds": round(time.perf_counter() - started, 1)}
        path.write_text(json.dumps(result, indent=1))
    for label, drop in (("paper_session_rf", False), ("paper_session_rf_without_extent", True)):
        result.setdefault("models", {})[label] = {"protocol": session_rf_protocol(frames, drop)}
    path.write_text(json.dumps(result, indent=1))
    return result


def _cell(table: dict) -> str:
    auc, eer = table.get("auc"), table.get("eer")
    return "–" if auc is None else f"{auc:.3f} / {eer:.3f}"


def render(work: Path) -> str:
    """Markdown: the validation table (every candidate x scoring) and the test table (pooled and
    per user) from ``validation.json`` / ``test.json``, each labelled with where it comes from."""
    lines = []
    validation_path, test_path = work / "validation.json", work / "test.json"
    if validation_path.exists():
        v = json.loads(validation_path.read_text())
        lines += [f"### Validation (enrolment sessions only: {v['folds']} session-grouped folds, pseudo sessions of "
                  f"{v['pseudo_session_actions']} actions claimed by every user; objective: {v['objective']})", "",
                  "| candidate | scoring | objective | " + " | ".join(f"k={k}" for k in K_VALUES) + " |",
                  "|---|---|---|" + "---|" * len(K_VALUES)]
        for name, result in v["candidates"].items():
            for scoring, r in result["scorings"].items():
                lines.append(f"| {name} | {scoring} | {r['objective']:.4f} | "
                             + " | ".join(_cell(r["by_k"][k]["pooled"]) for k in K_VALUES) + " |")
        lines += ["", f"Selected: **{v['selected']['candidate']} / {v['selected']['scoring']}** (pooled AUC / EER).", ""]
    if test_path.exists():
        t = json.loads(test_path.read_text())
        lines += ["### Test (labelled test_files, impostor protocol; reported once, chosen on validation)", "",
                  "| model | scoring | " + " | ".join(f"k={k}" for k in K_VALUES) + " | mean per user (k=1 / 20 / session) |",
                  "|---|---|" + "---|" * len(K_VALUES) + "---|"]
        for label, m in t["models"].items():
            protocol = m["protocol"]
            cells = [_cell(protocol[k]["pooled"]) if k in protocol else "–" for k in K_VALUES]
            means = [protocol.get(k, {}).get("mean_over_users", {}).get("auc") for k in ("1", "20", learn.SESSION_K)]
            lines.append(f"| {label} | {m.get('scoring', 'session RF')} | " + " | ".join(cells) + " | "
                         + " / ".join("–" if a is None else f"{a:.3f}" for a in means) + " |")
        users = sorted({u for m in t["models"].values() for p in m["protocol"].values() for u in p["users"]})
        for metric in ("auc", "eer"):
            lines += ["", f"Per claimed user, test {metric.upper()} at k = 1 / 5 / 10 / 20 / session:", "",
                      "| model | " + " | ".join(u.split(":")[-1] for u in users) + " |", "|---|" + "---|" * len(users)]
            for label, m in t["models"].items():
                row = []
                for user in users:
                    values = [m["protocol"][k]["users"].get(user, {}).get(metric) for k in K_VALUES if k in m["protocol"]]
                    row.append(" / ".join("–" if a is None else f"{a:.2f}" for a in values) or "–")
                lines.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="Balabit directory (training_files/, test_files/, public_labels.csv)")
    parser.add_argument("--work", type=Path, required=True, help="cache and output directory (not the repo)")
    parser.add_argument("--max-seconds", type=float, default=480.0, help="start no new fit after this many seconds")
    parser.add_argument("--with-baselines", action="store_true", help="validate: also main's two models")
    parser.add_argument("stage", choices=["validate", "test", "report"])
    args = parser.parse_args(argv)
    if args.stage == "report":
        print(render(args.work))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        result = (validate(args.root, args.work, args.max_seconds, args.with_baselines) if args.stage == "validate"
                  else test(args.root, args.work, args.max_seconds))
    except OutOfTime as stop:
        print(json.dumps({"incomplete": str(stop)}))
        return 3
    if args.stage == "validate":
        print(json.dumps({name: {s: round(v["objective"], 4) for s, v in r["scorings"].items()}
                          for name, r in result["candidates"].items()} | {"selected": result["selected"]}, indent=1))
    else:
        print(json.dumps({label: {k: v["pooled"]["auc"] for k, v in m["protocol"].items()}
                          for label, m in result["models"].items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
