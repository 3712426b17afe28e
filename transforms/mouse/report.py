"""The evaluation report (Markdown) next to the paper's figures."""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.mouse.learn import ACTION_FEATURE_NAMES, _x

PAPER = {"star": {"accuracy": 0.3697, "precision": 0.4333, "recall": 0.3502, "f1": 0.3407},
         "browse": {"accuracy": 0.3618, "precision": 0.2786, "recall": 0.3092, "f1": 0.2681}}
PUBLISHED_BALABIT_AUC = 0.92  # random forest on per-action features, Balabit data


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
              "| model | k | windows | id accuracy | precision | recall | F1 | verification AUC | EER |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, result in evaluation["actions"].items():
        for k, m in result.get("by_k", {}).items():
            i, v = m["identification"], m["verification"]
            lines.append(f"| {name} | {k} | {i['n']} | {_f(i['accuracy'])} | {_f(i['precision'])} | "
                         f"{_f(i['recall'])} | {_f(i['f1'])} | {_f(v['auc'])} | {_f(v['eer'])} |")
    lines += ["", f"Published Balabit result for comparison: ROC AUC ≈ {PUBLISHED_BALABIT_AUC} (random forest, "
              "per-action features).", "", "## Balabit protocol (labelled test sessions, claimed user)", ""]
    for name, result in evaluation["actions"].items():
        b = result.get("balabit_protocol", {})
        lines.append(f"- {name}: " + (b["skipped"] if "skipped" in b else
                                      f"{b['sessions']} sessions ({b['illegal']} illegal): AUC {_f(b['auc'])}, EER {_f(b['eer'])}"))
    chosen = evaluation["chosen"]
    k = str(evaluation["gate_window"])
    per_user = evaluation["actions"][chosen].get("by_k", {}).get(k, {}).get("verification", {}).get("users", {})
    lines += ["", f"## Verification per user ({chosen}, k={k})", "", "| user | AUC | EER | genuine windows |", "|---|---|---|---|"]
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
