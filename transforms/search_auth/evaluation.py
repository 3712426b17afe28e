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

from transforms.common.days import span
from transforms.search_auth import panel as panel_mod
from transforms.search_auth.forest import max_features_for, pair_forests_sweep
from transforms.search_auth.replay import COPY_WINDOW, VETO_TARGET, noun_counts, veto_rule

log = logging.getLogger(__name__)
THESIS = "thesis (per-pair RF, 4 features)"
EXTENDED = "extended (per-pair RF, 7 features)"
SPARSE = "sparse (per-pair RF, 11 features, replay veto)"
# name -> (features, replay defence on)
METHODS = {THESIS: (panel_mod.THESIS_FEATURES, False),
           EXTENDED: (panel_mod.EXTENDED_FEATURES, False),
           SPARSE: (panel_mod.SPARSE_FEATURES, True)}


@dataclass
class Protocol:
    template_days: int = 28
    train_days: int = 28
    test_days: int = 35
    # a user needs this many active days in EACH period (template, train, test; at least 1 each):
    # a user without train days has no model, one without test days has nothing to score
    min_active_days: int = 0
    missing: str = "skip"  # skip: days without searches are no requests; zero: they are empty requests
    methods: tuple = (THESIS, EXTENDED, SPARSE)
    thresholds: tuple = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # decision thresholds swept (accept: P > t)
    decision_threshold: float = 0.5  # the thesis' 0.5 for thesis/extended
    sparse_threshold: float = 0.5  # operating point of the sparse method (chosen on a tuning run)
    copy_window: int = COPY_WINDOW  # replay defence: the request's nouns vs each of A's days d-1 … d-14
    veto_target: float = VETO_TARGET  # per user: the lowest copy threshold that vetoes ≤ 5 % of A's own train days
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


def evaluate(features: pd.DataFrame, first_day: str, protocol: Protocol = Protocol(), holidays=(),
             progress: bool = False) -> dict:
    """Run the protocol on ``sa_daily_features`` rows (with ``ds``) from ``first_day``."""
    from transforms.search_auth.vectors import panel_vectors, train

    started = time.perf_counter()
    days = span(first_day, protocol.total_days)
    everyone = panel_mod.from_features(features, days, holidays=holidays)
    keep, excluded = select_users(everyone.active, protocol)
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
    idf = panel_mod.token_weights(panel, first_test)
    log.info("evaluation: %d users x %d days prepared in %.0fs", n, len(days), time.perf_counter() - started)

    eval_days = list(range(first_train, len(days)))
    names = panel_mod.ALL_FEATURES
    feats = np.zeros((n, n, len(eval_days), len(names)), np.float32)
    attack = np.zeros((n, n, protocol.test_days, len(names)), np.float32)
    copy = np.zeros((n, n, len(eval_days)), np.float32)  # replay defence: request vs A's own recent days
    copy_attack = np.zeros((n, protocol.test_days), np.float32)
    nouns = noun_counts(panel)
    nouns_attack = np.zeros((n, protocol.test_days))
    tmpl_ok = np.zeros((n, len(eval_days)), bool)
    tmpl_first_test = None
    window = min(protocol.copy_window, protocol.template_days)
    for j, d in enumerate(eval_days):
        t = panel_mod.templates(panel, d, protocol.missing, protocol.template_days)
        feats[:, :, j] = panel_mod.request_features(panel, t, feature_names=names)
        copy[:, :, j] = panel_mod.copy_similarity(panel, d, idf, window)
        tmpl_ok[:, j] = t.usable
        if d >= first_test:
            replayed = panel_mod.replay_days(panel, d)
            attack[:, :, d - first_test] = panel_mod.request_features(panel, t, feature_names=names,
                                                                      replay_from=replayed)
            copy_attack[:, d - first_test] = panel_mod.copy_similarity(panel, d, idf, window, replayed)[:, 0]
            nouns_attack[:, d - first_test] = nouns[np.arange(n), replayed]
        if d == first_test:
            tmpl_first_test = t
    req_ok = panel.active[:, eval_days] if protocol.missing == "skip" else np.ones((n, len(eval_days)), bool)
    log.info("evaluation: request features for %d pairs x %d days in %.0fs", n * (n - 1), len(eval_days),
             time.perf_counter() - started)

    n_train = protocol.train_days
    thresholds = np.array(sorted(set(protocol.thresholds) | {protocol.decision_threshold, protocol.sparse_threshold}))
    activity = panel.active.sum(axis=1)
    req_nouns = nouns[:, eval_days]
    veto = []
    for a in range(n):
        genuine = (tmpl_ok[a] & req_ok[a])[:n_train]
        veto.append(veto_rule(copy[a, a, :n_train][genuine], req_nouns[a, :n_train][genuine], protocol.veto_target))
    veto_at = np.array([v[0] for v in veto])
    veto_nouns = np.array([v[1] for v in veto])
    results, per_user, sweeps, deciles = {}, {}, {}, {}
    no_veto = (np.zeros(protocol.test_days, bool), np.zeros((n, protocol.test_days), bool))
    for name in protocol.methods:
        columns, defence = METHODS[name]
        cols = [names.index(c) for c in columns]
        operating = protocol.sparse_threshold if defence else protocol.decision_threshold
        k_op = int(np.flatnonzero(np.isclose(thresholds, operating))[0])
        counts = np.zeros((n, n, len(thresholds), 6), np.int64)
        importances = np.zeros(len(cols))
        pairs = 0
        method_started = time.perf_counter()
        template_users = range(n)
        if progress:
            from tqdm import tqdm

            template_users = tqdm(template_users, desc=name.split(" (")[0], unit="template user")
        for a in template_users:
            ok_a = tmpl_ok[a] & req_ok[a]
            neg_ok = tmpl_ok[a][None, :] & req_ok
            block = np.ascontiguousarray(feats[a][:, :, cols], dtype=np.float64)
            att = np.ascontiguousarray(attack[a][:, :, cols], dtype=np.float64)
            att_ok = np.repeat(tmpl_ok[a, n_train:][None, :], n, axis=0) & req_ok[:, n_train:]
            skip = np.arange(n) == a
            if defence:
                pos_veto = (copy[a, a, n_train:] >= veto_at[a]) & (req_nouns[a, n_train:] >= veto_nouns[a])
                neg_veto = (copy[a, :, n_train:] >= veto_at[a]) & (req_nouns[:, n_train:] >= veto_nouns[a])
                replay_vetoed = (copy_attack[a] >= veto_at[a]) & (nouns_attack[a] >= veto_nouns[a])
                att_veto = np.repeat(replay_vetoed[None, :], n, axis=0)
            else:
                pos_veto, neg_veto = no_veto
                att_veto = neg_veto
            c, imp = pair_forests_sweep(block[a, :n_train], ok_a[:n_train], block[:, :n_train], neg_ok[:, :n_train],
                                        block[a, n_train:], ok_a[n_train:], block[:, n_train:], neg_ok[:, n_train:],
                                        att, att_ok, skip, protocol.trees, max_features_for(len(cols)),
                                        protocol.seed + a * n, pos_veto, neg_veto, att_veto, thresholds)
            counts[a] = c
            fitted = c[:, k_op, :4].sum(axis=1) > 0
            importances += imp[fitted].sum(axis=0)
            pairs += int(fitted.sum())
            if (a + 1) % max(n // 10, 1) == 0:
                rate = (a + 1) * (n - 1) / (time.perf_counter() - method_started)
                log.info("%s: %d/%d template users, %.0f pairs/s", name, a + 1, n, rate)
        seconds = round(time.perf_counter() - method_started, 1)
        results[name] = {**_rates(counts[:, :, k_op].sum(axis=(0, 1))), "threshold": float(operating),
                         "replay_defence": bool(defence),
                         "importances": dict(zip(columns, (importances / max(pairs, 1)).round(4).tolist())),
                         "pairs": pairs, "seconds": seconds}
        sweeps[name] = [{"threshold": float(t), **_rates(counts[:, :, k].sum(axis=(0, 1)))}
                        for k, t in enumerate(thresholds)]
        deciles[name] = _deciles(counts[:, :, k_op], activity)
        per_user[name] = _per_user(counts[:, :, k_op], users, protocol.goat_threshold)
        log.info("%s: %s", name, {k: v for k, v in results[name].items() if k != "importances"})

    extended = per_user[EXTENDED if EXTENDED in per_user else list(per_user)[0]]
    suitability = _suitability(panel, tmpl_first_test, feats, req_ok, tmpl_ok, first_test - first_train, extended)
    return {"protocol": asdict(protocol), "days": [days[0], days[-1]], "users": int(n),
            "users_excluded": int((~keep).sum()), "excluded": excluded, "methods": results,
            "sweep": sweeps, "deciles": deciles,
            "replay_defence": {"copy_window": window, "users_without_veto": int(np.isinf(veto_at).sum()),
                               "users_vetoed_on_longer_days_only": int((np.isfinite(veto_at) & (veto_nouns > 1)).sum()),
                               "veto_threshold_median": float(np.median(veto_at[np.isfinite(veto_at)]))
                               if np.isfinite(veto_at).any() else float("nan")},
            "doddington": {k: v["summary"] for k, v in per_user.items()},
            "per_user": {k: v["table"] for k, v in per_user.items()}, "suitability": suitability,
            "seconds": round(time.perf_counter() - started, 1)}


def select_users(active: np.ndarray, protocol: Protocol) -> tuple[np.ndarray, dict]:
    """Users with at least ``min_active_days`` (and at least 1) active days in each of the
    template, train and test periods; the others are counted by the first period they fail
    (never scored: a user with nothing to test is not a user with zero error)."""
    need = max(protocol.min_active_days, 1)
    t, r = protocol.template_days, protocol.template_days + protocol.train_days
    periods = {"template": active[:, :t].sum(axis=1), "train": active[:, t:r].sum(axis=1),
               "test": active[:, r:].sum(axis=1)}
    keep = np.ones(len(active), bool)
    excluded = {}
    for period, days in periods.items():
        fail = keep & (days < need)
        excluded[f"fewer than {need} active {period} days"] = int(fail.sum())
        keep &= ~fail
    excluded["no test days at all"] = int((periods["test"] == 0).sum())
    return keep, excluded


def _rates(c) -> dict:
    tp, fn, fp, tn, accepted, tried = (int(x) for x in c)
    return {"TP": tp, "FP": fp, "FN": fn, "TN": tn, "precision": tp / max(tp + fp, 1),
            "recall": tp / max(tp + fn, 1), "genuine_accept": tp / max(tp + fn, 1),
            "accuracy": (tp + tn) / max(tp + tn + fp + fn, 1), "impersonation_FAR": accepted / max(tried, 1),
            "impersonation_tried": tried}


def choose_operating_point(sweep: list[dict], max_far: float = 0.10) -> dict:
    """The stated target: the most accurate threshold whose impersonation FAR is at most
    ``max_far`` (none: the lowest FAR). Choose it on tuning data, then fix it for the reports."""
    meeting = [row for row in sweep if row["impersonation_FAR"] <= max_far]
    if meeting:
        return max(meeting, key=lambda row: (row["accuracy"], -row["threshold"]))
    return min(sweep, key=lambda row: (row["impersonation_FAR"], -row["accuracy"]))


def _deciles(counts, activity) -> list[dict]:
    """Results of template users grouped by activity decile (active days over the whole period)."""
    per_a = counts.sum(axis=1)  # (A, 6)
    ranks = pd.Series(activity).rank(method="first")
    decile = pd.qcut(ranks, min(10, len(activity)), labels=False).to_numpy()
    rows = []
    for k in sorted(set(decile)):
        members = decile == k
        rows.append({"decile": int(k) + 1, "users": int(members.sum()),
                     "active_days": f"{int(activity[members].min())}-{int(activity[members].max())}",
                     **_rates(per_a[members].sum(axis=0))})
    return rows


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
    lines = [f"users {result['users']} (excluded {result['users_excluded']}: {result.get('excluded', {})}), "
             f"days {result['days'][0]}..{result['days'][1]}, missing days: {result['protocol']['missing']}, "
             f"min active days per period {max(result['protocol']['min_active_days'], 1)}",
             f"{'method':48s} {'TP':>11s} {'FP':>11s} {'FN':>11s} {'TN':>11s} {'prec':>6s} {'recall':>6s} "
             f"{'acc':>6s} {'imp.FAR':>7s}"]
    for name, r in result["methods"].items():
        lines.append(f"{name:48s} {r['TP']:11,d} {r['FP']:11,d} {r['FN']:11,d} {r['TN']:11,d} {r['precision']:6.3f} "
                     f"{r['recall']:6.3f} {r['accuracy']:6.3f} {r['impersonation_FAR']:7.3f}")
    for name, rows in result.get("deciles", {}).items():
        lines.append(f"per activity decile [{name}] (template users; accuracy / genuine accept / imp.FAR):")
        for row in rows:
            lines.append(f"  decile {row['decile']:2d} ({row['users']} users, {row['active_days']:>5s} active days): "
                         f"acc {row['accuracy']:.3f}  GAR {row['genuine_accept']:.3f}  imp.FAR {row['impersonation_FAR']:.3f}")
    for name, rows in result.get("sweep", {}).items():
        lines.append(f"threshold sweep [{name}]: " + "; ".join(
            f"t={r['threshold']:.1f} acc {r['accuracy']:.3f} GAR {r['genuine_accept']:.3f} "
            f"imp.FAR {r['impersonation_FAR']:.3f}" for r in rows))
        best = choose_operating_point(rows)
        lines.append(f"  target imp.FAR <= 0.10, best accuracy: t={best['threshold']:.1f} (on THIS data: choose it on "
                     f"tuning data, not on the data you report)")
    if "replay_defence" in result:
        lines.append(f"replay defence: {result['replay_defence']}")
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
    for key in ("deciles", "sweep"):
        if result.get(key):
            path = out / f"{key}.csv"
            pd.concat([pd.DataFrame(rows).assign(method=name) for name, rows in result[key].items()]).to_csv(
                path, index=False)
            files.append(path)
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
