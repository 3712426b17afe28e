"""Nightly retraining (Doc2Vec + authentication classifier), the promotion gate, and scoring.

The registered model is a bundle {doc2vec, classifier, feature names}. Its window is the
``sa_window_days`` days ending at ds: Doc2Vec learns from the documents before the held-out
days; the classifier (one forest for all users: A's template vs A's own day = genuine, vs another
user's day = impostor) trains on the days after the first 28 and is measured on the last
``sa_holdout_days`` days, which neither model saw.
"""
from __future__ import annotations

import logging

import numpy as np

from transforms.common.days import window
from transforms.common.models import GateRule, ModelRegistry
from transforms.search_auth import panel as panel_mod
from transforms.search_auth import replay
from transforms.search_auth.settings import SearchAuthSettings

log = logging.getLogger(__name__)
SETTINGS = SearchAuthSettings  # what the DAGs load for these stages
MODEL_NAME = "search_auth"
IMPOSTORS_PER_DAY = 3


def registry(settings: SearchAuthSettings) -> ModelRegistry:
    return ModelRegistry(settings.lake, MODEL_NAME)


def current_bundle(settings: SearchAuthSettings):
    reg = registry(settings)
    return reg.load() if reg.current_version() else None


def bundle_for_day(settings: SearchAuthSettings, ds: str):
    """(version, bundle) of the newest promoted model whose data window ended before ``ds``, so
    a backfilled day uses the model a daily run of that day used (not today's)."""
    import json

    reg = registry(settings)
    path = f"{reg.base}/history.jsonl"
    if not reg.lake.exists(reg.lake.path(path)):
        return None, None
    promoted = [json.loads(line)["candidate"] for line in reg.lake.read_bytes(path).splitlines() if line.strip()
                and json.loads(line)["promoted"]]
    eligible = [v for v in promoted if reg.meta(v)["data_window"]["last"] < ds]
    if not eligible:
        return None, None
    version = max(eligible, key=lambda v: (reg.meta(v)["data_window"]["last"], v))
    return version, reg.load(version)


FEATURE_SETS = {"thesis": panel_mod.THESIS_FEATURES, "extended": panel_mod.EXTENDED_FEATURES,
                "sparse": panel_mod.SPARSE_FEATURES}  # sparse: + the replay veto


def feature_names(settings: SearchAuthSettings) -> list[str]:
    if settings.sa_feature_set not in FEATURE_SETS:
        raise ValueError(f"sa_feature_set {settings.sa_feature_set!r}: one of {sorted(FEATURE_SETS)}")
    return FEATURE_SETS[settings.sa_feature_set]


def labelled_rows(panel, day_indices, names, rng, impostors=IMPOSTORS_PER_DAY, idf=None):
    """Rows (A's template vs B's day d; label 1 when B is A) and, per row, the claimed user A,
    the replay copy similarity and the request's distinct nouns (both 0 without ``idf``)."""
    X, y, claimed, copies, nouns = [], [], [], [], []
    n = len(panel.users)
    counts = replay.noun_counts(panel)
    for d in day_indices:
        t = panel_mod.templates(panel, d)
        feats = panel_mod.request_features(panel, t, feature_names=names)
        copy = panel_mod.copy_similarity(panel, d, idf, replay.COPY_WINDOW) if idf is not None else np.zeros((n, n))
        for a in np.flatnonzero(t.usable):
            others = np.flatnonzero(panel.active[:, d] & (np.arange(n) != a))
            requests = ([a] if panel.active[a, d] else []) + list(
                rng.choice(others, size=min(impostors, len(others)), replace=False))
            for b in requests:
                X.append(feats[a, b]), y.append(int(b == a)), claimed.append(a)
                copies.append(copy[a, b]), nouns.append(counts[b, d])
    return (np.array(X, dtype=np.float32).reshape(-1, len(names)), np.array(y),
            {"claimed": np.array(claimed, int), "copy": np.array(copies), "nouns": np.array(nouns)})


def calibrate_vetoes(panel, rows: dict, y: np.ndarray) -> dict:
    """Per user id: the replay veto rule calibrated on the user's own (genuine) training rows."""
    rules = {}
    for a, user in enumerate(panel.users):
        own = (rows["claimed"] == a) & (y == 1)
        if own.any():
            rules[str(user)] = replay.veto_rule(rows["copy"][own], rows["nouns"][own])
    return rules


def holdout_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy and the two error rates of genuine (1) / impostor (0) requests."""
    genuine, impostor = truth == 1, truth == 0
    return {"accuracy": float(((predicted == 1) == genuine).sum() / len(truth) if len(truth) else 0.0),
            "balanced_accuracy": float(0.5 * ((predicted[genuine] == 1).mean() + (predicted[impostor] == 0).mean())),
            "false_reject_rate": float((predicted[genuine] == 0).mean()),
            "false_accept_rate": float((predicted[impostor] == 1).mean())}


def gate_rule(settings: SearchAuthSettings) -> GateRule:
    return GateRule(settings.sa_gate_metric, tolerance=settings.sa_gate_tolerance)


def retrain(settings: SearchAuthSettings, ds: str, classifier_factory=None) -> str:
    """Train and register a bundle for the window ending at ``ds``; returns its version.
    ``classifier_factory`` replaces the forest (tests use it to build a known-worse model)."""
    from sklearn.ensemble import RandomForestClassifier

    from transforms.search_auth.stages import read_features
    from transforms.search_auth.vectors import panel_vectors, train

    days = window(ds, settings.sa_window_days)
    holdout_start = len(days) - settings.sa_holdout_days
    if holdout_start <= settings.sa_template_days:
        raise ValueError("sa_window_days must exceed sa_template_days + sa_holdout_days")
    panel = panel_mod.from_features(read_features(settings, days[0], days[-1]), days)
    if len(panel.users) < 2:
        raise ValueError(f"retraining {ds}: fewer than 2 users with features in {days[0]}..{days[-1]}")
    training_docs = [(f"{u}|{days[d]}", panel.documents[i][d]) for i, u in enumerate(panel.users)
                     for d in range(holdout_start)]
    doc2vec = train(training_docs, settings.sa_doc2vec_dims, settings.sa_doc2vec_epochs, settings.sa_seed,
                    settings.sa_doc2vec_min_count)
    panel.docvec = panel_vectors(doc2vec, panel, settings.sa_seed)
    panel.build_bow()
    names = feature_names(settings)
    rng = np.random.default_rng(settings.sa_seed)
    # the replay veto (sparse set): noun weights from the days before the holdout, rules per user
    # calibrated on their own training days, applied to the held-out decisions the gate compares
    defence = settings.sa_feature_set == "sparse"
    idf = panel_mod.token_weights(panel, holdout_start) if defence else None
    X_train, y_train, train_rows = labelled_rows(panel, range(settings.sa_template_days, holdout_start), names, rng,
                                                 idf=idf)
    X_test, y_test, test_rows = labelled_rows(panel, range(holdout_start, len(days)), names, rng, idf=idf)
    classifier = classifier_factory() if classifier_factory else RandomForestClassifier(
        n_estimators=settings.sa_rf_trees, random_state=settings.sa_seed, class_weight="balanced",
        min_samples_leaf=2, n_jobs=1)
    classifier.fit(X_train, y_train)
    predicted = classifier.predict(X_test)
    bundle = {"doc2vec": doc2vec, "classifier": classifier, "features": names}
    vetoed = np.zeros(len(y_test), bool)
    if defence:
        rules = calibrate_vetoes(panel, train_rows, y_train)
        fallback = replay.default_rule(rules)
        claimed = panel.users[test_rows["claimed"]] if len(y_test) else []
        vetoed = np.array([replay.vetoed(c, k, rules.get(str(u), fallback)) for u, c, k in
                           zip(claimed, test_rows["copy"], test_rows["nouns"])], bool).reshape(-1)
        predicted = np.where(vetoed, 0, predicted)
        bundle["replay_veto"] = {"rules": rules, "default_rule": fallback, "window": replay.COPY_WINDOW,
                                 "idf": dict(zip(panel.vocab, idf[list(panel.vocab.values())].tolist())),
                                 "idf_unseen": panel_mod.unseen_token_weight(panel, holdout_start)}
    metrics = {**holdout_metrics(y_test, predicted),
               "train_rows": int(len(y_train)), "holdout_rows": int(len(y_test)),
               "holdout_rows_vetoed": int(vetoed.sum())}
    params = {"doc2vec_dims": settings.sa_doc2vec_dims, "doc2vec_epochs": settings.sa_doc2vec_epochs,
              "seed": settings.sa_seed, "trees": settings.sa_rf_trees, "features": names,
              "impostors_per_day": IMPOSTORS_PER_DAY}
    data_window = {"first": days[0], "last": days[-1], "doc2vec_until": days[holdout_start - 1],
                   "classifier_train": [days[settings.sa_template_days], days[holdout_start - 1]],
                   "holdout": [days[holdout_start], days[-1]], "users": int(len(panel.users))}
    version = registry(settings).save(bundle, params, data_window, metrics)
    log.info("retrained %s on %s: %s", version, data_window, metrics)
    return version


def promotion_gate(settings: SearchAuthSettings, version: str) -> dict:
    decision = registry(settings).gate(version, gate_rule(settings))
    return decision.to_dict()


def score(settings: SearchAuthSettings, user_id: str, ds: str, bundle=None) -> dict:
    """Score of ``user_id``'s searches on ``ds`` against their template (the 28 days before)."""
    from transforms.search_auth.stages import read_features
    from transforms.search_auth.vectors import panel_vectors

    bundle = bundle or current_bundle(settings)
    if bundle is None:
        raise LookupError("no promoted search_auth model yet: run the retraining DAG first")
    days = window(ds, settings.sa_template_days + 1)  # the template days, then ds
    panel = panel_mod.from_features(read_features(settings, days[0], days[-1]), days, users=[str(user_id)])
    t = panel_mod.templates(panel, len(days) - 1)
    result = {"user_id": str(user_id), "ds": ds, "active_days": int(t.active_days[0])}
    if t.active_days[0] < settings.sa_min_active_days or not t.usable[0]:
        return {**result, "score": None, "decision": "insufficient_history", "features": {}}
    if not panel.active[0, -1]:
        return {**result, "score": None, "decision": "no_searches_on_day", "features": {}}
    panel.docvec = panel_vectors(bundle["doc2vec"], panel, settings.sa_seed)
    panel.build_bow()
    t = panel_mod.templates(panel, len(days) - 1)
    names = bundle["features"]
    row = panel_mod.request_features(panel, t, feature_names=names)[0, 0]
    classifier = bundle["classifier"]
    probability = float(classifier.predict_proba(row.reshape(1, -1))[0, list(classifier.classes_).index(1)])
    importances = getattr(classifier, "feature_importances_", np.zeros(len(names)))
    ranked = sorted(zip(names, row.tolist(), importances.tolist()), key=lambda x: -x[2])
    decision = "accept" if probability >= settings.sa_decision_threshold else "reject"
    if "replay_veto" in bundle:
        result["replay_veto"] = _replay_check(bundle["replay_veto"], panel, str(user_id), len(days) - 1)
        if result["replay_veto"]["vetoed"]:
            decision = "reject"
    return {**result, "score": probability, "decision": decision,
            "features": {n: {"value": v, "importance": i} for n, v, i in ranked[:4]}}


def _replay_check(veto: dict, panel, user_id: str, d: int) -> dict:
    """Does the day's query set copy one of the user's own recent days (the model's rule for them)?"""
    idf = replay.idf_for_panel(panel, veto["idf"], veto["idf_unseen"])
    copy = float(panel_mod.copy_similarity(panel, d, idf, veto["window"])[0, 0])
    nouns = int(replay.noun_counts(panel)[0, d])
    calibrated = user_id in veto["rules"]
    rule = tuple(veto["rules"][user_id] if calibrated else veto["default_rule"])
    return {"vetoed": bool(replay.vetoed(copy, nouns, rule)), "copy_similarity": copy, "distinct_nouns": nouns,
            "rule": {"copy_threshold": rule[0] if np.isfinite(rule[0]) else None,  # None: no veto for this user
                     "min_nouns": rule[1], "calibrated_for_user": calibrated}}
