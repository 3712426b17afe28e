"""Verification scores for the impostor protocol: candidates, per-action scores, k-action
aggregation and per-claimed-user calibration (issue 17).

A *candidate* is a classifier over the enrolled users plus its feature columns. Its per-action
class probabilities P(u | action) become a verification score for a claimed user u in one of
three ways (``SCORINGS``):

* ``mean_prob``: P(u | action), averaged over the k actions of a decision (what
  ``learn.impostor_protocol`` does);
* ``mean_llr``: the log-likelihood ratio of "u" against "someone else" implied by the posterior,
  ``logit P(u|x) − logit π_u`` (π_u: u's share of the enrolment actions), averaged over k. Under
  independent actions the sum (here the mean) of LLRs is the optimal combination, where a mean
  of probabilities saturates at 0 and 1;
* ``calibrated_llr``: per claimed user an affine map ``a_u·s + b_u`` of that action LLR fitted by
  logistic regression (classes balanced) on *out-of-fold* enrolment scores — u's own held-out
  actions against other users' held-out actions claimed as u — so scores of different claimed
  users share one scale and a pooled threshold means the same for everyone.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from transforms.mouse.schemas import ACTION_EXTENDED_FEATURE_NAMES, ACTION_FEATURE_NAMES, ACTION_POSITION_FEATURES

SCORINGS = ("mean_prob", "mean_llr", "calibrated_llr")
EPS = 1e-6  # probabilities are clipped to [EPS, 1 - EPS] before a logit


@dataclass(frozen=True)
class Candidate:
    """One model setting the tuning compares (features + classifier + hyperparameters)."""
    name: str
    model: str = "hgb"  # "hgb" (histogram gradient boosting) or "rf" (random forest)
    extended: bool = False  # ACTION_EXTENDED_FEATURE_NAMES besides the base 30
    positions: bool = False  # where actions start / end on the screen (a screen-extent group)
    max_iter: int = 300
    max_leaf_nodes: int = 31
    learning_rate: float = 0.1
    min_samples_leaf: int = 5
    l2: float = 1.0
    trees: int = 150
    max_depth: int | None = 14

    @property
    def columns(self) -> list[str]:
        columns = list(ACTION_FEATURE_NAMES)
        if self.extended:
            columns += [c for c in ACTION_EXTENDED_FEATURE_NAMES
                        if self.positions or c not in ACTION_POSITION_FEATURES]
        return columns

    def estimator(self, seed: int):
        if self.model == "rf":
            return RandomForestClassifier(n_estimators=self.trees, min_samples_leaf=3, max_depth=self.max_depth,
                                          n_jobs=2, random_state=seed)
        return HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                              max_leaf_nodes=self.max_leaf_nodes,
                                              min_samples_leaf=self.min_samples_leaf,
                                              l2_regularization=self.l2, random_state=seed)

    def without_positions(self) -> "Candidate":
        return Candidate(**{**asdict(self), "name": f"{self.name}-nopos", "positions": False})


def matrix(actions: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Feature matrix; missing values (no stroke, no scroll) as -1 like ``learn._x``."""
    return actions[columns].astype(float).fillna(-1.0).to_numpy()


def priors(train_users: pd.Series, classes: list[str]) -> np.ndarray:
    counts = train_users.value_counts()
    return np.array([counts.get(c, 0) for c in classes], float) / max(len(train_users), 1)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def action_llr(probabilities: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Per action and class: logit P(u|x) − logit π_u (the posterior's likelihood ratio)."""
    return logit(probabilities) - logit(prior)[None, :]


def fit_calibration(llr: np.ndarray, owners: np.ndarray, classes: list[str]) -> np.ndarray:
    """Per class u: (a_u, b_u) of a balanced logistic regression of "owner is u" on the action LLR
    for u. ``llr`` must be out-of-fold scores. Classes without both outcomes keep (1, 0)."""
    params = np.tile([1.0, 0.0], (len(classes), 1))
    for j, user in enumerate(classes):
        labels = owners == user
        if labels.all() or not labels.any():
            continue
        fitted = LogisticRegression(class_weight="balanced").fit(llr[:, [j]], labels)
        params[j] = fitted.coef_[0, 0], fitted.intercept_[0]
    return params


def action_scores(probabilities: np.ndarray, scoring: str, prior: np.ndarray,
                  calibration: np.ndarray | None = None) -> np.ndarray:
    """Per action and class: the score that k-action decisions average (see module doc)."""
    if scoring == "mean_prob":
        return probabilities
    llr = action_llr(probabilities, prior)
    if scoring == "mean_llr":
        return llr
    if scoring == "calibrated_llr":
        if calibration is None:
            raise ValueError("calibrated_llr needs calibration parameters from out-of-fold enrolment scores")
        return llr * calibration[:, 0][None, :] + calibration[:, 1][None, :]
    raise ValueError(f"unknown scoring {scoring!r}; one of {SCORINGS}")


def claimed(scores: np.ndarray, claims: pd.Series, classes: list[str]) -> np.ndarray:
    """Each action's score for the user it claims (NaN for a claimed user who is not enrolled)."""
    column = claims.map({u: i for i, u in enumerate(classes)})
    known = column.notna().to_numpy()
    out = np.full(len(claims), np.nan)
    out[known] = scores[np.flatnonzero(known), column[known].astype(int).to_numpy()]
    return out


@dataclass
class Verifier:
    """A fitted candidate with its scoring: what the challenge's impostor protocol scores."""
    candidate: Candidate
    scoring: str
    model: object
    prior: np.ndarray
    calibration: np.ndarray | None = None

    @property
    def classes(self) -> list[str]:
        return list(self.model.classes_)

    def action_scores(self, actions: pd.DataFrame) -> np.ndarray:
        """Score of each action for the user it claims (``user_id``)."""
        if actions.empty:
            return np.zeros(0)
        probabilities = self.model.predict_proba(matrix(actions, self.candidate.columns))
        scores = action_scores(probabilities, self.scoring, self.prior, self.calibration)
        out = claimed(scores, actions["user_id"].reset_index(drop=True), self.classes)
        # a claimed user who is not enrolled cannot be verified: the lowest score
        return np.where(np.isnan(out), np.nanmin(out) - 1 if np.isfinite(out).any() else 0.0, out)
