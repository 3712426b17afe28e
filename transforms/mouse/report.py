"""The evaluation report (Markdown) next to the paper's figures."""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.mouse.learn import ACTION_FEATURE_NAMES, _x

PAPER = {"star": {"accuracy": 0.3697, "precision": 0.4333, "recall": 0.3502, "f1": 0.3407},
         "browse": {"accuracy": 0.3618, "precision": 0.2786, "recall": 0.3092, "f1": 0.2681}}
# Antal & Egyed (2019) on the Balabit challenge, scoring sets of actions: their best result
PUBLISHED_BALABIT_AUC = 0.92


def identify_sessions(model, actions: pd.DataFrame) -> list[dict]:
    """Whole-session decisions of the chosen action model on the test period."""
    actions = actions.reset_index(drop=True)
    if actions.empty:
        return []
    probabilities = model.predict_proba(_x(actions, ACTION_FEATURE_NAMES))
    out = []
    for session, positions in actions.groupby("session_id", sort=True).indices.items():
        mean = probabilities[positions].mean(axis=0)
        best = int(mean.argmax())
        out.append({"session_id": session, "task": actions["task"].iloc[positions[0]],
                    "true_user": actions["user_id"].iloc[positions[0]], "predicted_user": str(model.classes_[best]),
                    "score": float(mean[best]), "actions": int(len(positions))})
    return out


def _f(value) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.3f}"


def render(evaluation: dict, gate: dict | None) -> str:
    data = evaluation["data"]
    lines = [f"# Mouse-dynamics identification — {evaluation['ds']}", "",
             f"Training days {', '.join(evaluation['train_days']) or '–'}; test days "
             f"{', '.join(evaluation['test_days']) or '–'} (disjoint: no session in both). Sources: "
             f"{', '.join(data['sources'])}; {len(data['users'])} users, {data['train_sessions']} training / "
             f"{data['test_sessions']} test sessions.", "",
             "## Identification per session (paper's features, random forest)", "",
             "| task | test sessions | accuracy | precision | recall | F1 | paper accuracy | paper F1 |",
             "|---|---|---|---|---|---|---|---|"]
    for task, m in sorted(evaluation["session_rf"].items()):
        paper = PAPER.get(task, {})
        lines.append(f"| {task} | {m['n']} | {_f(m['accuracy'])} | {_f(m['precision'])} | {_f(m['recall'])} | "
                     f"{_f(m['f1'])} | {_f(paper.get('accuracy'))} | {_f(paper.get('f1'))} |")
    lines += ["", "## Per-action models versus actions aggregated (k)", "",
              "One-vs-rest AUC: each user against other users' *genuine* test windows — not the impostor "
              "protocol (see below), so it overstates verification.", "",
              "| model | k | windows | id accuracy | precision | recall | F1 | one-vs-rest AUC | EER |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, result in evaluation["actions"].items():
        for k, m in result.get("by_k", {}).items():
            i, v = m["identification"], m["one_vs_rest"]
            lines.append(f"| {name} | {k} | {i['n']} | {_f(i['accuracy'])} | {_f(i['precision'])} | "
                         f"{_f(i['recall'])} | {_f(i['f1'])} | {_f(v['auc'])} | {_f(v['eer'])} |")
    lines += ["", "## Impostor protocol (labelled test sessions claim a user; pooled AUC / EER)", ""]
    for name, result in evaluation["actions"].items():
        protocol = result.get("impostor_protocol", {})
        if "skipped" in protocol or not protocol:
            lines.append(f"- {name}: {protocol.get('skipped', 'not evaluated')}")
            continue
        lines.append(f"- {name}: " + "; ".join(
            f"k={k} AUC {_auc(v['pooled'])} EER {_eer(v['pooled'])} ({v['pooled']['n']} decisions, "
            f"{v['pooled']['illegal']} illegal)" for k, v in protocol.items()))
    lines += ["", f"Published reference: Antal & Egyed 2019 on the Balabit challenge, AUC ≈ {PUBLISHED_BALABIT_AUC} "
              "(scoring sets of actions, their best result)."]
    chosen = evaluation["chosen"]
    k = str(evaluation["gate_window"])
    per_user = evaluation["actions"][chosen].get("by_k", {}).get(k, {}).get("one_vs_rest", {}).get("users", {})
    lines += ["", f"## One-vs-rest per user ({chosen}, k={k})", "", "| user | AUC | EER | genuine windows |", "|---|---|---|---|"]
    lines += [f"| {u} | {_f(m['auc'])} | {_f(m['eer'])} | {m['genuine_windows']} |" for u, m in sorted(per_user.items())]
    sessions = evaluation.get("identified_sessions", [])
    correct = sum(s["true_user"] == s["predicted_user"] for s in sessions)
    lines += ["", f"## Test sessions identified by {chosen} (all actions of the session): {correct}/{len(sessions)}", "",
              "| session | task | true user | predicted | score | actions |", "|---|---|---|---|---|---|"]
    lines += [f"| {s['session_id']} | {s['task']} | {s['true_user']} | {s['predicted_user']} | {_f(s['score'])} | "
              f"{s['actions']} |" for s in sessions]
    if gate:
        lines += ["", "## Promotion gate", "", f"{'promoted' if gate['promoted'] else 'refused'}: {gate['reason']} "
                  f"(candidate {gate['candidate']}, previous {gate['current'] or '–'})"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# The Balabit challenge report (transforms/mouse/challenge.py): the impostor protocol first.

# Antal & Egyed (2019) on this challenge: AUC 0.92 when scoring sets of actions (their best).
PUBLISHED_BALABIT_REFERENCE = "Antal & Egyed 2019, Balabit challenge, scoring sets of actions: AUC ≈ 0.92"


def _auc(cell: dict | None) -> str:
    return "–" if not cell or cell.get("auc") is None else f"{cell['auc']:.3f}"


def _eer(cell: dict | None) -> str:
    return "–" if not cell or cell.get("eer") is None else f"{cell['eer']:.3f}"


def _ks(evaluation: dict) -> list[str]:
    return [*(str(k) for k in evaluation["window_sizes"]), "session"]


def render_balabit(evaluation: dict) -> str:
    ks = _ks(evaluation)
    headline = evaluation["variants"]["configured"]
    data = headline["data"]
    lines = [f"# Balabit challenge — impostor protocol ({evaluation['run_id']})", "",
             f"Directory `{evaluation['root']}`: enrolment = training_files ({data['train_sessions']} sessions, "
             f"{data['train_actions']} actions), test = labelled test_files ({data['test_sessions']} sessions, "
             f"{data['illegal_test_sessions']} illegal, {data['test_actions']} actions); {len(data['users'])} users. "
             f"Loaded {evaluation['events']['train'] + evaluation['events']['test']} events in "
             f"{evaluation['load_seconds']} s. Features: {headline['config']}.", "",
             "Each test session claims the user of its folder; score = mean P(claimed user) over k consecutive "
             "actions (or the whole session); legal windows are positives. Pooled over users, then the mean of "
             "per-user figures.", "",
             "## Pooled AUC / EER by k", "",
             "| model | " + " | ".join(f"k={k} AUC | EER" for k in ks) + " |",
             "|---|" + "---|---|" * len(ks)]
    for name, result in headline["models"].items():
        protocol = result["protocol"]
        lines.append(f"| {name} | " + " | ".join(
            f"{_auc(protocol.get(k, {}).get('pooled'))} | {_eer(protocol.get(k, {}).get('pooled'))}" for k in ks) + " |")
    lines += ["", "Mean of per-user AUC:", "", "| model | " + " | ".join(f"k={k}" for k in ks) + " |",
              "|---|" + "---|" * len(ks)]
    for name, result in headline["models"].items():
        protocol = result["protocol"]
        lines.append(f"| {name} | " + " | ".join(_auc(protocol.get(k, {}).get("mean_over_users")) for k in ks) + " |")
    lines += ["", f"Reference: {PUBLISHED_BALABIT_REFERENCE}. `session_rf` is the paper's (SPEC S1.4) random "
              "forest on whole-session features, features: " + ", ".join(headline["models"]["session_rf"]["features"]),
              ""]
    chosen = evaluation["chosen"]
    protocol = headline["models"][chosen]["protocol"]
    users = sorted({u for k in ks for u in protocol.get(k, {}).get("users", {})})
    lines += [f"## Per user ({chosen}): AUC / EER (decisions, illegal)", "",
              "| user | " + " | ".join(f"k={k}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
    for user in users:
        cells = []
        for k in ks:
            cell = protocol.get(k, {}).get("users", {}).get(user)
            cells.append("–" if not cell else f"{_auc(cell)} / {_eer(cell)} ({cell['n']}, {cell['illegal']})")
        lines.append(f"| {user} | " + " | ".join(cells) + " |")
    session_rf = headline["models"]["session_rf"]["protocol"]["session"]["users"]
    lines += ["", "Paper's session RF per user (whole sessions): " + ", ".join(
        f"{u} {_auc(c)}" for u, c in sorted(session_rf.items())), ""]
    lines += ["## Identification on legal test sessions (session-disjoint from enrolment)", "",
              "| model | " + " | ".join(f"k={k}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
    for name, result in headline["models"].items():
        if "identification" in result:
            ident = result["identification"]
            lines.append(f"| {name} | " + " | ".join(
                f"{ident[k]['accuracy']:.3f} ({ident[k]['n']})" if k in ident else "–" for k in ks) + " |")
    lines += ["", "## Not the impostor protocol: one-vs-rest on genuine sessions", "",
              "Each user against *other users' genuine* test windows (what the daily pipeline reports as "
              "one-vs-rest AUC). Nobody imitated anybody here, so it overstates verification.", "",
              "| model | " + " | ".join(f"k={k}" for k in evaluation["window_sizes"]) + " |",
              "|---|" + "---|" * len(evaluation["window_sizes"])]
    for name, result in headline["models"].items():
        if "one_vs_rest" in result:
            lines.append(f"| {name} | " + " | ".join(
                _auc(result["one_vs_rest"].get(str(k))) for k in evaluation["window_sizes"]) + " |")
    if len(evaluation["variants"]) > 1:
        lines += ["", "## Robustness variants (pooled AUC)", "",
                  "| variant | features | model | " + " | ".join(f"k={k}" for k in ks) + " |",
                  "|---|---|---|" + "---|" * len(ks)]
        for label, result in evaluation["variants"].items():
            for name, model in result["models"].items():
                lines.append(f"| {label} | resample {result['config']['resample_s']} s, normalised "
                             f"{result['config']['screen_normalise']}, extent dropped "
                             f"{result['config']['drop_screen_extent']} | {name} | " + " | ".join(
                                 _auc(model["protocol"].get(k, {}).get("pooled")) for k in ks) + " |")
    lines += ["", "## Per-user sampling interval (ms, cursor samples)", "", "| user | sessions | median | p10 | p90 |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['user_id']} | {r['sessions']} | {r['median_ms']:.1f} | {r['p10_ms']:.1f} | {r['p90_ms']:.1f} |"
              for r in evaluation["sampling_rates"]]
    sizes = ", ".join(f"{n} {m['bytes'] / 1e6:.1f} MB" for n, m in headline["models"].items())
    gate = evaluation["gate"]
    lines += ["", "## Quarantine and short actions", "",
              f"Rows quarantined at load: {evaluation['quarantine'] or 'none'}. Actions too short for features "
              f"(configured variant): {data['short_actions'] or 'none'}.", "",
              "## Model, gate and registry", "", f"Chosen: {chosen}; sizes (joblib, compressed): {sizes}.",
              f"Gate: {'promoted' if gate['promoted'] else 'refused'} — {gate['reason']} (candidate {gate['candidate']}, "
              f"current {gate['current'] or '–'}; the current model re-scored on this test set: "
              f"{evaluation['current_rescored'] or '–'}). Pruned versions: {evaluation['pruned_versions'] or 'none'}."]
    return "\n".join(lines) + "\n"
