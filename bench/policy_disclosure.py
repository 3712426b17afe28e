"""Disclosure classifiers on real privacy policies: learned classifier vs the rule baseline.

    python bench/policy_disclosure.py [--data /work/data/policy] [--split tune|report|all] [--errors]

Data: a folder laid out like /work/data/policy, written offline from public snapshots by
``python bench/policy_corpus.py`` (sources and our labels are in ``bench/data/``): ``labels.csv``
(hand-labelled (policy, service) pairs with a fixed tune/report split), ``policies.csv`` and
``policies/<id>.txt`` (real policy texts; linked cookie / tool pages carry ``linked_from`` and are
read with their parent, as the crawler does; ``seen_in_development`` marks policies the
classifier's tests quote). The texts are not shipped (site operators' copyright), so this is a
bench, not a test. Prints, per split, agreement, the confusion matrix and per-class precision /
recall of both classifiers. ``--errors`` lists the learned classifier's misses — for the tune
split only: the report split is for reporting, never for tuning.

The learned classifier is trained here, in process, exactly as the registry trains it: on the
training part of ``transforms/survey/data/disclosure_sentences.tsv``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from transforms.survey import policy, policy_model  # noqa: E402
from transforms.survey.detect import load_signatures  # noqa: E402
from transforms.survey.disclosure import CLASSES, DisclosureClassifier, PolicyPage, _name_table  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("TRACKSCOPE_POLICY_DATA", "/work/data/policy"))


def services_by_id() -> dict[str, dict]:
    """Signature entries, plus the services only the name table knows (e.g. decibel)."""
    out = {s.id: s.as_dict() for s in load_signatures(REPO / "transforms/survey/data/signatures.yaml").services}
    for sid, entry in _name_table().items():
        out.setdefault(sid, {"id": sid, "name": entry["names"][0], "kind": "session_replay",
                             "policy_terms": entry["names"]})
    return out


def policy_pages(data: Path) -> dict[str, list[PolicyPage]]:
    docs = pd.read_csv(data / "policies.csv")
    text = {row.id: (data / "policies" / f"{row.id}.txt").read_text(encoding="utf-8") for row in docs.itertuples()}
    pages = {row.id: [PolicyPage(row.url, text[row.id], "policy")] for row in docs.itertuples()
             if not isinstance(row.linked_from, str)}
    for row in docs.itertuples():
        if isinstance(row.linked_from, str):
            pages[row.linked_from].append(PolicyPage(row.url, text[row.id], "linked"))
    return pages


def seen_in_development(data: Path) -> set[str]:
    docs = pd.read_csv(data / "policies.csv", dtype=str, keep_default_na=False)
    return set(docs.loc[docs.get("seen_in_development", "") == "yes", "id"]) if "seen_in_development" in docs else set()


def report(name: str, truth: pd.Series, predicted: pd.Series) -> None:
    agreement = float((truth == predicted).mean())
    print(f"\n{name}: agreement {agreement:.3f} ({int((truth == predicted).sum())}/{len(truth)})")
    classes = [c for c in CLASSES if c in set(truth) | set(predicted)]
    matrix = pd.crosstab(truth.rename("label"), predicted.rename("predicted")).reindex(
        index=classes, columns=classes, fill_value=0)
    print(matrix.to_string())
    for cls in classes:
        tp = int(((truth == cls) & (predicted == cls)).sum())
        p = tp / max(int((predicted == cls).sum()), 1)
        r = tp / max(int((truth == cls).sum()), 1)
        print(f"  {cls:22s} P {p:.2f}  R {r:.2f}  (n={int((truth == cls).sum())})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="all", choices=["tune", "report", "all"])
    parser.add_argument("--errors", action="store_true", help="list misses on the tune split")
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args()
    print("load average:", os.getloadavg())
    labels = pd.read_csv(args.data / "labels.csv")
    pages = policy_pages(args.data)
    seen = seen_in_development(args.data)
    services = services_by_id()
    t0 = time.monotonic()
    train, held_out = policy_model.split(policy_model.load_sentences())
    model = policy_model.PurposeModel().fit(train)
    print(f"purpose model: {len(train)} training sentences, held-out {model.evaluate(held_out)} "
          f"({time.monotonic() - t0:.1f} s)")
    learned = DisclosureClassifier(model, "in-process", args.threshold)
    rows = []
    t0 = time.monotonic()
    for policy_id, group in labels.groupby("policy_id", sort=False):
        wanted = [services[s] for s in group["service_id"]]
        verdicts = learned.classify(pages[policy_id], wanted)
        joined = "\n\n".join(p.text for p in pages[policy_id])
        for row in group.itertuples():
            verdict = verdicts[row.service_id]
            rows.append({"pair_id": row.pair_id, "policy_id": policy_id, "service_id": row.service_id,
                         "split": row.split, "label": row.label, "learned": verdict["disclosure_class"],
                         "baseline": policy.classify_disclosure(joined, services[row.service_id])["disclosure_class"],
                         "score": verdict["purpose_score"], "purpose": verdict["purpose_sentence"],
                         "named": verdict["service_sentence"], "language": verdict["policy_language"]})
    print(f"classified {len(rows)} pairs of {labels['policy_id'].nunique()} policies in {time.monotonic() - t0:.1f} s")
    result = pd.DataFrame(rows)
    for split in (["tune", "report"] if args.split == "all" else [args.split]):
        part = result[result["split"] == split]
        print(f"\n===== {split} split: {len(part)} pairs, {part['policy_id'].nunique()} policies =====")
        report(f"learned ({learned.version})", part["label"], part["learned"])
        report("rule baseline (policy.classify_disclosure)", part["label"], part["baseline"])
        unseen = part[~part["policy_id"].isin(seen)]
        print(f"\npolicies not seen in development ({len(unseen)} pairs, {unseen['policy_id'].nunique()} policies): "
              f"learned {(unseen['label'] == unseen['learned']).mean():.3f}, "
              f"baseline {(unseen['label'] == unseen['baseline']).mean():.3f}")
    if args.errors:
        misses = result[(result["split"] == "tune") & (result["label"] != result["learned"])]
        for row in misses.itertuples():
            print(f"\n{row.pair_id} {row.policy_id} {row.service_id}: label {row.label}, learned {row.learned} "
                  f"(score {row.score}, lang {row.language})\n  purpose: {str(row.purpose)[:200]}\n  named: {str(row.named)[:200]}")


if __name__ == "__main__":
    main()
