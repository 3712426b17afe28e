"""The sparse method's replay defence, shared by the evaluation, the nightly retraining and scoring.

A request is vetoed (rejected whatever the classifier says) when its nouns copy one of the claimed
user's own recent days (:func:`panel.copy_similarity` ≥ τ) and it has at least ``min_nouns``
distinct nouns. (τ, min_nouns) is calibrated per user on their own genuine days: the most
aggressive rule that vetoes at most ``target`` of them, so a user who repeats whole days keeps a
weaker veto (or none) instead of being locked out.
"""
from __future__ import annotations

import numpy as np

VETO_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
VETO_MIN_NOUNS = (1, 2, 3, 5)  # a user who repeats short days is protected on longer ones only
COPY_WINDOW = 14  # the request's nouns vs each of the user's days d-1 … d-14
VETO_TARGET = 0.05  # share of the user's own days a rule may veto
NO_VETO = (float("inf"), 0)


def noun_counts(panel) -> np.ndarray:
    """(U, D) distinct nouns per user-day (needs ``panel.bow``)."""
    return np.asarray(panel.bow.sum(axis=1)).ravel().reshape(len(panel.users), len(panel.days))


def veto_rule(genuine_copy: np.ndarray, genuine_nouns: np.ndarray, target: float = VETO_TARGET) -> tuple[float, int]:
    """(copy threshold, minimum distinct nouns) of a user's veto: the most aggressive rule (fewest
    nouns first, then the lowest threshold) that vetoes at most ``target`` of the user's own days;
    :data:`NO_VETO` when the user repeats whole days too often for any rule (or has no days)."""
    if genuine_copy.size == 0:
        return NO_VETO
    for min_nouns in VETO_MIN_NOUNS:
        for tau in VETO_GRID:
            if ((genuine_copy >= tau) & (genuine_nouns >= min_nouns)).mean() <= target:
                return tau, min_nouns
    return NO_VETO


def vetoed(copy, nouns, rule) -> np.ndarray:
    tau, min_nouns = rule
    return (np.asarray(copy) >= tau) & (np.asarray(nouns) >= min_nouns)


def default_rule(rules: dict) -> tuple[float, int]:
    """For a user the model has not calibrated: the median threshold of the calibrated users, any size."""
    taus = [tau for tau, _ in rules.values() if np.isfinite(tau)]
    return (float(np.median(taus)), 1) if taus else NO_VETO


def idf_for_panel(panel, weights: dict, unseen: float) -> np.ndarray:
    """The model's noun weights aligned to ``panel``'s vocabulary (a noun the model never saw is
    rare: it gets ``unseen``, the highest weight)."""
    out = np.full(max(len(panel.vocab), 1), unseen, np.float32)
    for token, index in panel.vocab.items():
        out[index] = weights.get(token, unseen)
    return out
