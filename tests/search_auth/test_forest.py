"""The compiled per-pair forest gives the answers scikit-learn's forest gives (up to seeds)."""
import numpy as np
from sklearn.ensemble import RandomForestClassifier

from transforms.search_auth.forest import fit_predict, pair_forests


def _task(rng, shift):
    X = np.vstack([rng.normal(0, 1, (28, 4)), rng.normal(shift, 1, (28, 4))])
    X_test = np.vstack([rng.normal(0, 1, (35, 4)), rng.normal(shift, 1, (35, 4))])
    return X, np.r_[np.ones(28), np.zeros(28)], X_test, np.r_[np.ones(35), np.zeros(35)]


def test_matches_sklearn_forest_in_aggregate():
    rng = np.random.default_rng(0)
    ours, theirs, seeds_apart, importance_gap = [], [], [], []
    for i in range(12):
        X, y, X_test, y_test = _task(rng, [0.2, 0.5, 1.0, 1.5][i % 4])
        proba, imp = fit_predict(X, y, np.ones(56, bool), X_test, 100, 2, i)
        sk = RandomForestClassifier(100, random_state=10).fit(X, y)
        sk_other = RandomForestClassifier(100, random_state=11).fit(X, y)
        ours.append(((proba > 0.5) == y_test).mean())
        theirs.append((sk.predict(X_test) == y_test).mean())
        seeds_apart.append(((proba > 0.5) == sk.predict(X_test)).mean() - (sk_other.predict(X_test) == sk.predict(X_test)).mean())
        importance_gap.append(np.abs(imp - sk.feature_importances_).max())
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.02
    assert np.mean(seeds_apart) > -0.05  # agrees with sklearn about as well as another sklearn seed does
    assert np.mean(importance_gap) < 0.08


def test_pair_forests_skip_self_and_missing_rows():
    rng = np.random.default_rng(1)
    n_b, f = 4, 3
    pos_train, pos_test = rng.normal(0, 1, (28, f)), rng.normal(0, 1, (35, f))
    neg_train, neg_test = rng.normal(3, 1, (n_b, 28, f)), rng.normal(3, 1, (n_b, 35, f))
    attack = rng.normal(0, 1, (n_b, 35, f))  # looks like the genuine user
    ok_train, ok_test = np.ones(28, bool), np.ones(35, bool)
    neg_ok_train, neg_ok_test = np.ones((n_b, 28), bool), np.ones((n_b, 35), bool)
    neg_ok_test[2, :10] = False
    counts, importances = pair_forests(pos_train, ok_train, neg_train, neg_ok_train, pos_test, ok_test, neg_test,
                                       neg_ok_test, attack, np.ones((n_b, 35), bool), np.array([True, False, False, False]),
                                       50, 1, 3)
    assert counts[0].sum() == 0  # B == A skipped
    assert (counts[1:, 0] + counts[1:, 1] == 35).all()
    assert counts[2, 2] + counts[2, 3] == 25  # 10 missing impostor days left out
    assert (counts[1:, 3] >= counts[1:, 2] + counts[1:, 3] - 2).all() and (counts[1:, 0] >= 30).all()  # separable
    assert (counts[1:, 4] >= 30).all()  # replayed genuine-looking requests get through
    assert np.allclose(importances[1:].sum(axis=1), 1.0)
