"""A random forest for many tiny training sets at once (numba, parallel over sets).

The thesis fits one scikit-learn forest per ordered user pair: 999,000 forests of 100 trees on
56 rows each. scikit-learn's per-fit overhead (~0.1 s) makes that ~28 h. This is the same model
definition — bootstrap samples, ``max_features = sqrt(n_features)`` candidate features per node
(constant ones redrawn, as scikit-learn does), Gini splits at midpoints, trees grown until pure,
majority of averaged leaf probabilities, mean-decrease-impurity importances normalised per tree —
compiled and run for all pairs of a template user in one parallel call. Random streams differ
from scikit-learn's, so individual predictions differ like two seeds of scikit-learn do;
``tests/search_auth/test_forest.py`` checks the aggregate agreement.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _gini_score(wl_pos, wl, wr_pos, wr):
    # maximise sum over children of (sum of squared class weights / child weight) == minimise weighted Gini
    return (wl_pos * wl_pos + (wl - wl_pos) ** 2) / wl + (wr_pos * wr_pos + (wr - wr_pos) ** 2) / wr


@njit(cache=True)
def _fit_tree(X, y, w, max_features, feat, thr, left, right, value, importance):
    """Grow one tree on rows with weight > 0; returns the node count."""
    n, n_features = X.shape
    idx = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if w[i] > 0:
            idx[m] = i
            m += 1
    stack_node = np.empty(2 * n + 2, np.int64)
    stack_lo = np.empty(2 * n + 2, np.int64)
    stack_hi = np.empty(2 * n + 2, np.int64)
    order = np.empty(n, np.int64)
    vals = np.empty(n, np.float64)
    perm = np.arange(n_features)
    top = 0
    stack_node[0], stack_lo[0], stack_hi[0] = 0, 0, m
    n_nodes = 1
    total_weight = 0.0
    for k in range(m):
        total_weight += w[idx[k]]
    while top >= 0:
        node, lo, hi = stack_node[top], stack_lo[top], stack_hi[top]
        top -= 1
        w_all, w_pos = 0.0, 0.0
        for k in range(lo, hi):
            w_all += w[idx[k]]
            w_pos += w[idx[k]] * y[idx[k]]
        value[node] = w_pos / w_all
        feat[node] = -1
        if w_pos == 0.0 or w_pos == w_all or hi - lo < 2:
            continue
        # candidate features: random order, the first max_features non-constant ones
        for a in range(n_features - 1, 0, -1):
            b = np.random.randint(0, a + 1)
            perm[a], perm[b] = perm[b], perm[a]
        best_score, best_f, best_t = -1.0, -1, 0.0
        tried = 0
        for fi in range(n_features):
            if tried >= max_features:
                break
            f = perm[fi]
            cnt = hi - lo
            for k in range(cnt):
                order[k] = idx[lo + k]
                vals[k] = X[idx[lo + k], f]
            # insertion sort by value (nodes are small)
            for a in range(1, cnt):
                key_v, key_o = vals[a], order[a]
                b = a - 1
                while b >= 0 and vals[b] > key_v:
                    vals[b + 1] = vals[b]
                    order[b + 1] = order[b]
                    b -= 1
                vals[b + 1], order[b + 1] = key_v, key_o
            if vals[cnt - 1] <= vals[0]:
                continue  # constant here: does not count, draw another
            tried += 1
            wl, wl_pos = 0.0, 0.0
            for a in range(cnt - 1):
                wl += w[order[a]]
                wl_pos += w[order[a]] * y[order[a]]
                if vals[a + 1] <= vals[a]:
                    continue
                score = _gini_score(wl_pos, wl, w_pos - wl_pos, w_all - wl)
                if score > best_score + 1e-12:
                    best_score, best_f, best_t = score, f, 0.5 * (vals[a] + vals[a + 1])
        if best_f < 0:
            continue
        # partition idx[lo:hi] in place: left block first
        a, b = lo, hi - 1
        while a <= b:
            if X[idx[a], best_f] <= best_t:
                a += 1
            else:
                idx[a], idx[b] = idx[b], idx[a]
                b -= 1
        wl, wl_pos = 0.0, 0.0
        for k in range(lo, a):
            wl += w[idx[k]]
            wl_pos += w[idx[k]] * y[idx[k]]
        wr, wr_pos = w_all - wl, w_pos - wl_pos
        gini_node = 1.0 - (w_pos / w_all) ** 2 - (1 - w_pos / w_all) ** 2
        gini_l = 1.0 - (wl_pos / wl) ** 2 - (1 - wl_pos / wl) ** 2
        gini_r = 1.0 - (wr_pos / wr) ** 2 - (1 - wr_pos / wr) ** 2
        importance[best_f] += (w_all * gini_node - wl * gini_l - wr * gini_r) / total_weight
        feat[node], thr[node] = best_f, best_t
        left[node], right[node] = n_nodes, n_nodes + 1
        top += 1
        stack_node[top], stack_lo[top], stack_hi[top] = n_nodes, lo, a
        top += 1
        stack_node[top], stack_lo[top], stack_hi[top] = n_nodes + 1, a, hi
        n_nodes += 2
    return n_nodes


@njit(cache=True)
def _tree_predict(feat, thr, left, right, value, x):
    node = 0
    while feat[node] >= 0:
        node = left[node] if x[feat[node]] <= thr[node] else right[node]
    return value[node]


@njit(cache=True)
def fit_predict(X, y, valid, X_test, n_trees, max_features, seed):
    """Fit a forest on rows of X with valid, return (P(class 1) for X_test rows, importances)."""
    n, n_features = X.shape
    np.random.seed(seed)
    rows = np.flatnonzero(valid)
    proba = np.zeros(X_test.shape[0])
    importances = np.zeros(n_features)
    size = 2 * n + 2
    feat = np.empty(size, np.int64)
    thr = np.empty(size)
    left = np.empty(size, np.int64)
    right = np.empty(size, np.int64)
    value = np.empty(size)
    w = np.zeros(n)
    tree_imp = np.zeros(n_features)
    used_trees = 0
    for _ in range(n_trees):
        w[:] = 0.0
        for _k in range(rows.size):
            w[rows[np.random.randint(0, rows.size)]] += 1.0
        tree_imp[:] = 0.0
        n_nodes = _fit_tree(X, y, w, max_features, feat, thr, left, right, value, tree_imp)
        total = tree_imp.sum()
        if n_nodes > 1 and total > 0:
            importances += tree_imp / total
            used_trees += 1
        for t in range(X_test.shape[0]):
            proba[t] += _tree_predict(feat, thr, left, right, value, X_test[t])
    if used_trees:
        importances /= used_trees
    return proba / n_trees, importances


def max_features_for(n_features: int) -> int:
    return max(1, int(math.sqrt(n_features)))


def pair_forests(pos_train, pos_train_ok, neg_train, neg_train_ok, pos_test, pos_test_ok, neg_test, neg_test_ok,
                 attack_test, attack_ok, skip_b, n_trees, max_features, seed):
    """For one template user A and every request user B (axis 0 of the ``neg``/``attack`` arrays):
    fit a forest on A-vs-A (label 1) and A-vs-B (label 0) training days, predict the test days —
    the thesis rule (accept P > 0.5, no replay veto) of :func:`pair_forests_sweep`.

    Returns per B: [TP, FN, FP, TN, attacks accepted, attacks tried] and importances. Rows whose
    ``*_ok`` flag is false (missing days, incomplete template) are left out; B == A is skipped.
    """
    no_veto = np.zeros(neg_test_ok.shape, np.bool_)
    counts, importances = pair_forests_sweep(
        pos_train, pos_train_ok, neg_train, neg_train_ok, pos_test, pos_test_ok, neg_test, neg_test_ok,
        attack_test, attack_ok, skip_b, n_trees, max_features, seed, np.zeros(pos_test_ok.shape, np.bool_),
        no_veto, no_veto, np.array([0.5]))
    return counts[:, 0], importances


@njit(parallel=True, cache=True)
def pair_forests_sweep(pos_train, pos_train_ok, neg_train, neg_train_ok, pos_test, pos_test_ok, neg_test, neg_test_ok,
                       attack_test, attack_ok, skip_b, n_trees, max_features, seed, pos_veto, neg_veto, attack_veto,
                       thresholds):
    """For one template user A and every request user B: a forest on A-vs-A (label 1) and A-vs-B
    (label 0) training days, the test days predicted; a rule rejects vetoed requests whatever the
    forest says (the replay defence); counts at several decision thresholds (accept: P > threshold).

    Returns counts (B, thresholds, 6) [TP, FN, FP, TN, attacks accepted, attacks tried] and importances.
    """
    n_b, n_train, n_features = neg_train.shape
    n_thr = thresholds.shape[0]
    counts = np.zeros((n_b, n_thr, 6), np.int64)
    importances = np.zeros((n_b, n_features))
    n_test = pos_test.shape[0]
    for b in prange(n_b):
        if skip_b[b]:
            continue
        X = np.empty((2 * n_train, n_features))
        y = np.empty(2 * n_train)
        ok = np.empty(2 * n_train, np.bool_)
        X[:n_train] = pos_train
        X[n_train:] = neg_train[b]
        y[:n_train] = 1.0
        y[n_train:] = 0.0
        ok[:n_train] = pos_train_ok
        ok[n_train:] = neg_train_ok[b]
        if ok[:n_train].sum() == 0 or ok[n_train:].sum() == 0:
            continue
        X_test = np.empty((3 * n_test, n_features))
        X_test[:n_test] = pos_test
        X_test[n_test:2 * n_test] = neg_test[b]
        X_test[2 * n_test:] = attack_test[b]
        proba, imp = fit_predict(X, y, ok, X_test, n_trees, max_features, seed + b)
        importances[b] = imp
        for k in range(n_thr):
            thr = thresholds[k]
            for t in range(n_test):
                if pos_test_ok[t]:
                    if proba[t] > thr and not pos_veto[t]:
                        counts[b, k, 0] += 1
                    else:
                        counts[b, k, 1] += 1
                if neg_test_ok[b, t]:
                    if proba[n_test + t] > thr and not neg_veto[b, t]:
                        counts[b, k, 2] += 1
                    else:
                        counts[b, k, 3] += 1
                if attack_ok[b, t]:
                    counts[b, k, 5] += 1
                    if proba[2 * n_test + t] > thr and not attack_veto[b, t]:
                        counts[b, k, 4] += 1
    return counts, importances
