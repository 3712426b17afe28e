"""The thesis protocol (templates days 1–28, train 29–56, test 57–91; one forest per ordered user
pair) for the thesis' 4 features and for the extended 7, plus impersonation, Doddington's
goats/lambs/wolves, suitability and uniqueness indices. Used by the CLI and the evaluation DAG.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from transforms.common.days import day_range
from transforms.search_auth import panel as panel_mod
from transforms.search_auth.forest import max_features_for, pair_forests

log = logging.getLogger(__name__)
METHODS = {"thesis (per-pair RF, 4 features)": panel_mod.THESIS_FEATURES,
           "extended (per-pair RF, 7 features)": panel_mod.EXTENDED_FEATURES}


@dataclass
class Protocol:
    template_days: int = 28
    train_days: int = 28
    test_days: int = 35
    min_active_days: int = 0  # users with fewer active days over the whole period are left out
    missing: str = "skip"  # skip: days without searches are no requests; zero: they are empty requests
    trees: int = 100
    doc2vec_dims: int = 200
    doc2vec_epochs: int = 20
    doc2vec_workers: int = 2
    seed: int = 10
    goat_threshold: float = 0.2  # per-user false-reject / false-accept rate that marks goats/lambs/wolves

    @property
    def total_days(self) -> int:
        return self.template_days + self.train_days + self.test_days


def _correlation(x, y) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def evaluate(features: pd.DataFrame, first_day: str, protocol: Protocol = Protocol(), holidays=()) -> dict:
    """Run the protocol on ``sa_daily_features`` rows (with ``ds``) from ``first_day``."""
    from transforms.search_auth.vectors import panel_vectors, train

    started = time.perf_counter()
    days = day_range(first_day, (pd.Timestamp(first_day) + pd.Timedelta(days=protocol.total_days - 1))
                               .strftime("%Y-%m-%d"))
    everyone = panel_mod.from_features(features, days, holidays=holidays)
    keep = everyone.active.sum(axis=1) >= max(protocol.min_active_days, 1)
    users = everyone.users[keep]
    panel = panel_mod.from_features(features, days, users=users, holidays=holidays)
    n = len(users)
    if n < 2:
        raise ValueError("fewer than 2 users meet min_active_days")
    first_train, first_test = protocol.template_days, protocol.template_days + protocol.train_days
    # Doc2Vec never sees a test day; every vector (train and test days alike) is inferred
    docs = [(f"{u}|{days[d]}", panel.documents[i][d]) for i, u in enumerate(users) for d in range(first_test)]
    doc2vec = train(docs, protocol.doc2vec_dims, protocol.doc2vec_epochs, protocol.seed, 1, protocol.doc2vec_workers)
    panel.docvec = panel_vectors(doc2vec, panel, protocol.seed)
    panel.build_bow()
    log.info("evaluation: %d users x %d days prepared in %.0fs", n, len(days), time.perf_counter() - started)

    eval_days = list(range(first_train, len(days)))
    n_features = len(panel_mod.EXTENDED_FEATURES)
    feats = np.zeros((n, n, len(eval_days), n_features), np.float32)
    attack = np.zeros((n, n, protocol.test_days, n_features), np.float32)
    tmpl_ok = np.zeros((n, len(eval_days)), bool)
    tmpl_first_test = None
    for j, d in enumerate(eval_days):
        t = panel_mod.templates(panel, d, protocol.missing, protocol.template_days)
        feats[:, :, j] = panel_mod.request_features(panel, t)
        tmpl_ok[:, j] = t.usable
        if d >= first_test:
            attack[:, :, d - first_test] = panel_mod.request_features(
                panel, t, replay_from=panel_mod.replay_days(panel, d))
        if d == first_test:
            tmpl_first_test = t
    req_ok = panel.active[:, eval_days] if protocol.missing == "skip" else np.ones((n, len(eval_days)), bool)
    log.info("evaluation: request features for %d pairs x %d days in %.0fs", n * (n - 1), len(eval_days),
             time.perf_counter() - started)

    n_train = protocol.train_days
    results, per_user = {}, {}
    for name, columns in METHODS.items():
        cols = [panel_mod.EXTENDED_FEATURES.index(c) for c in columns]
        counts = np.zeros((n, n, 6), np.int64)
        importances = np.zeros(len(cols))
        pairs = 0
        method_started = time.perf_counter()
        for a in range(n):
            ok_a = tmpl_ok[a] & req_ok[a]
            neg_ok = tmpl_ok[a][None, :] & req_ok
            block = np.ascontiguousarray(feats[a][:, :, cols], dtype=np.float64)
            att = np.ascontiguousarray(attack[a][:, :, cols], dtype=np.float64)
            att_ok = np.repeat(tmpl_ok[a, n_train:][None, :], n, axis=0) & req_ok[:, n_train:]
            skip = np.arange(n) == a
            c, imp = pair_forests(block[a, :n_train], ok_a[:n_train], block[:, :n_train], neg_ok[:, :n_train],
                                  block[a, n_train:], ok_a[n_train:], block[:, n_train:], neg_ok[:, n_train:],
                                  att, att_ok, skip, protocol.trees, max_features_for(len(cols)),
                                  protocol.seed + a * n)
            counts[a] = c
            fitted = c[:, :4].sum(axis=1) > 0
            importances += imp[fitted].sum(axis=0)
            pairs += int(fitted.sum())
            if (a + 1) % max(n // 10, 1) == 0:
                rate = (a + 1) * (n - 1) / (time.perf_counter() - method_started)
                log.info("%s: %d/%d template users, %.0f pairs/s", name, a + 1, n, rate)
        tp, fn, fp, tn, accepted, tried = counts.sum(axis=(0, 1))
        results[name] = {
            "TP": int(tp), "FP": int(fp), "FN": int(fn), "TN": int(tn),
            "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
            "accuracy": (tp + tn) / max(tp + tn + fp + fn, 1),
            "impersonation_FAR": accepted / max(tried, 1),
            "importances": dict(zip(columns, (importances / max(pairs, 1)).round(4).tolist())),
            "pairs": pairs, "seconds": round(time.perf_counter() - method_started, 1)}
        per_user[name] = _per_user(counts, users, protocol.goat_threshold)
        log.info("%s: %s", name, {k: v for k, v in results[name].items() if k != "importances"})

    extended = per_user[list(METHODS)[1]]
    suitability = _suitability(panel, tmpl_first_test, feats, req_ok, tmpl_ok, first_test - first_train, extended)
    return {"protocol": asdict(protocol), "days": [days[0], days[-1]], "users": int(n),
            "users_excluded": int((~keep).sum()), "methods": results,
            "doddington": {k: v["summary"] for k, v in per_user.items()},
            "per_user": {k: v["table"] for k, v in per_user.items()}, "suitability": suitability,
            "seconds": round(time.perf_counter() - started, 1)}


def _per_user(counts, users, threshold) -> dict:
    tp, fn, fp, tn, accepted, tried = (counts[:, :, i].sum(axis=1) for i in range(6))
    as_attacker_fp = counts[:, :, 2].sum(axis=0)
    as_attacker_total = (counts[:, :, 2] + counts[:, :, 3]).sum(axis=0)
    table = pd.DataFrame({
        "user_id": users.astype(str), "error": (fn + fp) / np.maximum(tp + fn + fp + tn, 1),
        "false_reject": fn / np.maximum(tp + fn, 1), "false_accept_as_template": fp / np.maximum(fp + tn, 1),
        "false_accept_as_attacker": as_attacker_fp / np.maximum(as_attacker_total, 1),
        "impersonation_accept": accepted / np.maximum(tried, 1)})
    summary = {"zero_error_users": int((table["error"] == 0).sum()),
               "goats (false reject >= t)": int((table["false_reject"] >= threshold).sum()),
               "lambs (accepts impostors >= t)": int((table["false_accept_as_template"] >= threshold).sum()),
               "wolves (accepted as impostor >= t)": int((table["false_accept_as_attacker"] >= threshold).sum()),
               "threshold t": threshold}
    return {"table": table, "summary": summary}


def _suitability(panel, t, feats, req_ok, tmpl_ok, first_test_j, per_user) -> dict:
    """Indices at the first test day vs the thesis' simple per-feature checks on the test days,
    and vs each user's error under the extended method."""
    n = len(panel.users)
    d = t.d
    own = feats[np.arange(n), np.arange(n)][:, first_test_j:]  # (U, test days, F)
    ok = (req_ok & tmpl_ok)[:, first_test_j:]
    names = panel_mod.EXTENDED_FEATURES

    def share(mask):
        return np.where(ok.sum(axis=1) > 0, (mask & ok).sum(axis=1) / np.maximum(ok.sum(axis=1), 1), np.nan)

    ratio = own[:, :, names.index("count_ratio")]
    time_idx = [d - k for k in panel_mod.TIME_OFFSETS]
    query_idx = [d - k for k in panel_mod.QUERY_OFFSETS]
    indices = {
        "cv_count": panel_mod.cv_of_counts(panel, d),
        "self_sim_time": panel_mod.self_similarity(panel.hours[:, time_idx], t.time_days),
        "self_sim_query": panel_mod.self_similarity(panel.docvec[:, query_idx], t.query_days),
        "uniqueness_time": panel_mod.uniqueness(t.time, t.usable),
        "uniqueness_query": panel_mod.uniqueness(t.doc_mean, t.usable),
    }
    checks = {"cv_count": share((ratio >= 0.5) & (ratio <= 1.5)),
              "self_sim_time": share(own[:, :, names.index("time_cos")] >= 0.5),
              "self_sim_query": share(own[:, :, names.index("doc_sim")] >= 0.5)}
    error = per_user["table"]["error"].to_numpy()
    rows = []
    for name, values in indices.items():
        rows.append({"index": name, "mean": float(np.nanmean(values)),
                     "R_vs_simple_check": _correlation(values, checks[name]) if name in checks else float("nan"),
                     "R_vs_user_error": _correlation(values, error)})
    return {"table": rows, "per_user": pd.DataFrame({"user_id": panel.users.astype(str), **indices})}


def thesis_table(result: dict) -> str:
    """The thesis' result table, one row per method, plus importances."""
    lines = [f"users {result['users']} (excluded {result['users_excluded']}), days {result['days'][0]}.."
             f"{result['days'][1]}, missing days: {result['protocol']['missing']}, "
             f"min active days {result['protocol']['min_active_days']}",
             f"{'method':38s} {'TP':>11s} {'FP':>11s} {'FN':>11s} {'TN':>11s} {'prec':>6s} {'recall':>6s} "
             f"{'acc':>6s} {'imp.FAR':>7s}"]
    for name, r in result["methods"].items():
        lines.append(f"{name:38s} {r['TP']:11,d} {r['FP']:11,d} {r['FN']:11,d} {r['TN']:11,d} {r['precision']:6.3f} "
                     f"{r['recall']:6.3f} {r['accuracy']:6.3f} {r['impersonation_FAR']:7.3f}")
    for name, r in result["methods"].items():
        lines.append(f"importances [{name}]: " + ", ".join(f"{k} {v:.1%}" for k, v in r["importances"].items()))
    for name, summary in result["doddington"].items():
        lines.append(f"per-user [{name}]: {summary}")
    lines.append("suitability / uniqueness indices (R = Pearson):")
    for row in result["suitability"]["table"]:
        lines.append(f"  {row['index']:17s} mean {row['mean']:.3f}  R vs simple check {row['R_vs_simple_check']:+.2f}"
                     f"  R vs user error {row['R_vs_user_error']:+.2f}")
    return "\n".join(lines)


def write_report(result: dict, out_dir: str) -> list[str]:
    """Tables (txt/CSV/JSON) and plots into ``out_dir``; returns the files written."""
    import json
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.txt").write_text(thesis_table(result) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("per_user", "suitability")}
    summary["suitability"] = result["suitability"]["table"]
    (out / "results.json").write_text(json.dumps(summary, indent=1, default=float))
    files = [out / "results.txt", out / "results.json"]
    for i, (name, table) in enumerate(result["per_user"].items()):
        path = out / f"per_user_method{i + 1}.csv"
        table.to_csv(path, index=False)
        files.append(path)
    result["suitability"]["per_user"].to_csv(out / "indices_per_user.csv", index=False)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, table in result["per_user"].items():
        axes[0].hist(table["error"], bins=30, alpha=0.6, label=name)
    axes[0].set_xlabel("per-user error rate"), axes[0].set_ylabel("users"), axes[0].legend(fontsize=7)
    names = list(result["methods"])
    for k, name in enumerate(names):
        imp = result["methods"][name]["importances"]
        axes[1].barh([f"{f}" for f in imp], list(imp.values()), alpha=0.6, label=name)
    axes[1].set_xlabel("mean importance"), axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "evaluation.png", dpi=100)
    files += [out / "indices_per_user.csv", out / "evaluation.png"]
    return [str(f) for f in files]
