"""Metrics on accesses of a later day than the store/training window (split by time).

Known members: the member has accesses in the store. Unseen members: it has none, so the right
answer is "no member". Blocking recall: share of known-member queries whose member is among the
candidates at all (the ceiling of top-1 accuracy).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.member_id.estimator import DECISION_FEATURES, Estimator, decision_features

BUCKETS = [(1, 1), (2, 3), (4, 7), (8, 15), (16, 10**9)]


def member_rows(enriched: pd.DataFrame) -> pd.DataFrame:
    """Every access of a member (estimable or not): the denominator of coverage and of top-k."""
    return enriched[(enriched["member_id"].fillna("") != "") & ~enriched["is_bot"]].reset_index(drop=True)


def query_rows(enriched: pd.DataFrame) -> pd.DataFrame:
    """Member accesses the estimator answers (some usable evidence)."""
    rows = member_rows(enriched)
    return rows[rows["unusable"].fillna("") == ""].reset_index(drop=True)


STRICT_FIELDS = ("isp", "city", "os_version", "browser_version")  # what the paper's setup required


def score_queries(estimator: Estimator, queries: pd.DataFrame, batch: int = 200) -> pd.DataFrame:
    """Per member access: truth, whether known, stored accesses of the true member, candidate
    recall, the vote's member and likelihood (before any threshold), the 3 most likely distinct
    members, and whether it was answered at all (accesses without usable evidence are not)."""
    stored = pd.Series(estimator.store_members).value_counts()
    unusable = queries["unusable"].fillna("") != "" if "unusable" in queries else pd.Series(False, index=queries.index)
    usable = queries[~unusable.to_numpy()].reset_index(drop=True)
    out = []
    for start in range(0, len(usable), batch):
        part = usable.iloc[start:start + batch].reset_index(drop=True)
        scored, counts = estimator.score_with_counts(part)
        evidence = part["evidence"].tolist() if "evidence" in part else [""] * len(part)
        for truth, (rows, likes), count, ev in zip(part["member_id"], scored, counts, evidence):
            voted = estimator.decide(rows, likes, threshold=-1.0)
            members = estimator.store_members[rows]
            order = np.argsort(-likes, kind="stable")
            top3 = list(dict.fromkeys(members[order]))[:3]
            out.append({"truth": truth, "stored": int(stored.get(truth, 0)), "candidates": len(rows),
                        "in_candidates": bool(truth in set(members)), "voted": voted.member_id,
                        "max_likelihood": float(likes.max()) if len(likes) else 0.0,
                        "vote_likelihood": voted.likelihood if len(likes) else 0.0,
                        "top3": "\x1f".join(top3), "answered": True, "evidence": ev,
                        **dict(zip(DECISION_FEATURES, decision_features(members, likes, count)))})
    for truth in queries.loc[unusable.to_numpy(), "member_id"]:
        out.append({"truth": truth, "stored": int(stored.get(truth, 0)), "candidates": 0, "in_candidates": False,
                    "voted": "", "max_likelihood": 0.0, "vote_likelihood": 0.0, "top3": "", "answered": False,
                    "evidence": "none",
                    **dict.fromkeys(DECISION_FEATURES[1:], 0.0)})
    frame = pd.DataFrame(out, columns=["truth", "stored", "candidates", "in_candidates", "voted", "max_likelihood",
                                       "vote_likelihood", "top3", "answered", "evidence"] + DECISION_FEATURES[1:])
    frame["known"] = frame["stored"] > 0
    model = getattr(estimator, "decision_model", None)
    frame["known_score"] = (model.predict_proba(frame[DECISION_FEATURES].to_numpy(dtype="float64"))[:, 1]
                            if model is not None and len(frame) else frame["max_likelihood"])
    strict = queries[~unusable.to_numpy()] if len(queries) else queries
    frame.attrs["strict_answerable"] = (int(sum(all(str(r[f] or "") != "" for f in STRICT_FIELDS)
                                                for _, r in strict.iterrows())) if len(strict) else 0)
    return frame


def decisions(scored: pd.DataFrame, threshold: float) -> pd.Series:
    return scored["voted"].where(scored["known_score"] >= threshold, "")


def no_member_curve(scored: pd.DataFrame, thresholds=None) -> list[dict]:
    """No-member precision/recall for each threshold on the known score (answered queries;
    truth "no member" = the member has no stored access)."""
    answered = scored[scored["answered"]]
    unseen = ~answered["known"].to_numpy()
    like = answered["known_score"].to_numpy()
    if thresholds is None:
        thresholds = np.unique(np.r_[np.linspace(0.0, 1.0, 101), np.quantile(like, np.linspace(0, 1, 201))
                                     if len(like) else []])
    curve = []
    for t in thresholds:
        none = like < t
        tp = int((none & unseen).sum())
        curve.append({"threshold": float(t), "answered_none": int(none.sum()),
                      "precision": tp / int(none.sum()) if none.any() else None,
                      "recall": tp / int(unseen.sum()) if unseen.any() else None})
    return curve


def choose_threshold(scored: pd.DataFrame, target_precision: float = 0.9) -> dict:
    """The threshold with the highest no-member recall among those whose no-member precision
    reaches ``target_precision`` on ``scored`` (a window disjoint from training and from the
    reported day); if none reaches it, the one with the highest precision (recall breaks ties)."""
    curve = [c for c in no_member_curve(scored) if c["precision"] is not None]
    if not curve:
        return {"threshold": 0.0, "target_precision": target_precision, "target_reached": False,
                "calibration_precision": None, "calibration_recall": None}
    reaching = [c for c in curve if c["precision"] >= target_precision]
    best = (max(reaching, key=lambda c: (c["recall"] or 0.0, -c["threshold"])) if reaching
            else max(curve, key=lambda c: (c["precision"], c["recall"] or 0.0)))
    return {"threshold": best["threshold"], "target_precision": target_precision, "target_reached": bool(reaching),
            "calibration_precision": best["precision"], "calibration_recall": best["recall"]}


def fit_calibrator(scored: pd.DataFrame):
    """Isotonic map from the vote's likelihood to P(the voted member is the right one), fitted on
    answered queries of a calibration window (unseen members: the vote is always wrong)."""
    from sklearn.isotonic import IsotonicRegression

    answered = scored[scored["answered"]]
    calibrator = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    calibrator.fit(answered["vote_likelihood"].to_numpy(dtype="float64"),
                   (answered["voted"] == answered["truth"]).to_numpy(dtype="float64"))
    return calibrator


def calibration_error(probability: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |mean predicted − observed| over equal-width bins, weighted."""
    probability, correct = np.asarray(probability, dtype="float64"), np.asarray(correct, dtype="float64")
    if not len(probability):
        return float("nan")
    which = np.minimum((probability * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.sum() * abs(probability[sel].mean() - correct[sel].mean())
    return float(total / len(probability))


def _decision_classifier(seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20,
                                          random_state=seed)


def fit_decision_model(scored: pd.DataFrame, folds: int = 2, seed: int = 0):
    """P(known member) from the decision features, fitted on ``scored`` (a calibration window).
    Returns (model fitted on all of it, out-of-fold scores for choosing the threshold on data the
    model did not see), or (None, None) when the window lacks either class."""
    answered = scored[scored["answered"]].reset_index(drop=True)
    y = answered["known"].to_numpy(dtype=int)
    if len(answered) < 40 or y.min() == y.max() or min(y.sum(), len(y) - y.sum()) < folds * 5:
        return None, None
    X = answered[DECISION_FEATURES].to_numpy(dtype="float64")
    fold = np.random.default_rng(seed).integers(0, folds, len(y))
    out_of_fold = np.zeros(len(y))
    for k in range(folds):
        fit = fold != k
        if y[fit].min() == y[fit].max():
            return None, None
        out_of_fold[fold == k] = _decision_classifier(seed).fit(X[fit], y[fit]).predict_proba(X[fold == k])[:, 1]
    return _decision_classifier(seed).fit(X, y), out_of_fold


def calibrate(scored: pd.DataFrame, target_precision: float = 0.9, decision_model: bool = True) -> dict:
    """From a calibration window ``scored`` (disjoint from training and from the reported days):
    the decision model (P(known member), 2-fold cross-fitted so that the threshold is chosen on
    out-of-fold scores), the no-member threshold for the target precision, and the isotonic
    calibrator of the vote's likelihood."""
    model, out_of_fold = fit_decision_model(scored) if decision_model else (None, None)
    frame = scored
    if model is not None:
        frame = scored.copy()
        frame.loc[frame["answered"].to_numpy(), "known_score"] = out_of_fold
    return {**choose_threshold(frame, target_precision), "calibrator": fit_calibrator(scored),
            "decision_model": model, "decision": "P(known) model" if model is not None else "max likelihood"}


def apply_decision_model(scored: pd.DataFrame, model) -> pd.DataFrame:
    """``scored`` with the known score recomputed by ``model`` (None: the max likelihood)."""
    scored = scored.copy()
    scored["known_score"] = (model.predict_proba(scored[DECISION_FEATURES].to_numpy(dtype="float64"))[:, 1]
                             if model is not None and len(scored) else scored["max_likelihood"])
    return scored


def metrics(scored: pd.DataFrame, threshold: float, calibrator=None) -> dict:
    decided = decisions(scored, threshold)
    answered = scored["answered"]
    known, unseen = scored["known"], ~scored["known"]
    predicted_none = (decided == "") & answered
    right = np.where(known, decided == scored["truth"], predicted_none)
    in_top3 = np.array([t in set(s.split("\x1f")) if s else False for t, s in zip(scored["truth"], scored["top3"])])
    by_bucket = {}
    for lo, hi in BUCKETS:
        sel = known & scored["stored"].between(lo, hi)
        label = f"{lo}" if lo == hi else (f"{lo}-{hi}" if hi < 10**9 else f"{lo}+")
        by_bucket[label] = {"queries": int(sel.sum()),
                            "top1_accuracy": float((decided[sel] == scored["truth"][sel]).mean()) if sel.any() else None}
    by_evidence = {}
    evidence = scored["evidence"] if "evidence" in scored else pd.Series("", index=scored.index)
    place = evidence.fillna("").str.extract(r"place=(\w+)")[0].fillna("none")
    for level in ("city", "region", "country", "none"):
        sel = known & (place == level)
        by_evidence[f"place={level}"] = {"queries": int(sel.sum()), "top1_accuracy": float(
            (decided[sel] == scored["truth"][sel]).mean()) if sel.any() else None}
    tp = int((predicted_none & unseen).sum())
    answered_known = known & answered
    result = {
        "queries": int(len(scored)), "known_queries": int(known.sum()), "unseen_queries": int(unseen.sum()),
        "threshold": float(threshold),
        "coverage": float(answered.mean()) if len(scored) else None,
        "coverage_paper_required_fields": (scored.attrs.get("strict_answerable", 0) / len(scored)) if len(scored) else None,
        # over ALL accesses of known members: unanswered ones count as wrong
        "top1_accuracy_known": float((decided[known] == scored["truth"][known]).mean()) if known.any() else None,
        "top3_accuracy_known": float(in_top3[known.to_numpy()].mean()) if known.any() else None,
        "top1_accuracy_known_vote_only": float((scored["voted"][known] == scored["truth"][known]).mean()) if known.any() else None,
        "top1_accuracy_answered": float((decided[answered_known] == scored["truth"][answered_known]).mean())
        if answered_known.any() else None,
        "no_member_precision": tp / int(predicted_none.sum()) if predicted_none.any() else None,
        "no_member_recall": tp / int((unseen & answered).sum()) if (unseen & answered).any() else None,
        "known_told_no_member": float(predicted_none[known].mean()) if known.any() else None,
        "decision_accuracy": float(right.mean()) if len(scored) else None,
        "blocking_recall": float(scored["in_candidates"][known].mean()) if known.any() else None,
        "mean_candidates": float(scored["candidates"][answered].mean()) if answered.any() else None,
        "accuracy_by_stored_accesses": by_bucket,
        "accuracy_by_evidence": by_evidence,
        "no_member_curve": [c for c in no_member_curve(scored, np.round(np.linspace(0.05, 0.95, 19), 2))],
    }
    if calibrator is not None:
        sel = scored["answered"].to_numpy()
        prob = calibrator.predict(scored.loc[sel, "vote_likelihood"].to_numpy(dtype="float64"))
        correct = (scored.loc[sel, "voted"] == scored.loc[sel, "truth"]).to_numpy()
        result["calibration_error"] = calibration_error(prob, correct)
        result["calibration_error_raw_likelihood"] = calibration_error(
            scored.loc[sel, "vote_likelihood"].to_numpy(dtype="float64"), correct)
    return result
