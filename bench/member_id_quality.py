"""Member-ID quality on the hard generated world: coverage, top-1/top-3 over all member accesses,
no-member precision/recall, calibration, for the paper's MLP and the gradient-boosting model.

    python bench/member_id_quality.py --members 2000 --history 30 --test-days 7

Data: generated (transforms/synthetic/member_id_logs.py, hard world: CGNAT, carriers known only to
the country, shared UA builds, Linux/XP/Vista/unknown UAs, several devices, travel, anonymous
visitors); not real logs. GeoIP setup ``--geo`` (default City + ASN mmdb, what the free GeoLite2
package offers), databases written by mmdb-writer. Time split: the model trains and the store
holds days 0..H-2; the no-member threshold (for ``--target-precision``) and the isotonic
calibrator are fitted on day H-1; test days H..H+T-1 are scored with the same model, the store
growing to the day before each test day (as the served estimator indexes the newest days). No
test day is used for any choice. Ground truth for "no member": members without any stored
access (joined later) and anonymous visitors (their identities are known to the generator only).
"""
import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transforms.member_id import evaluation, features, training  # noqa: E402
from transforms.member_id.enrich import enrich  # noqa: E402
from transforms.member_id.estimator import Estimator, usable_store  # noqa: E402
from transforms.synthetic.member_id_logs import Generator  # noqa: E402
from transforms.member_id.geo import GeoLookup  # noqa: E402


def timed(label, fn):
    started = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - started:.1f}s", flush=True)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--history", type=int, default=30)
    parser.add_argument("--test-days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--geo", choices=("city", "city+asn", "city+asn-csv", "city+isp"), default="city+asn")
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--mlp-hidden", default="500,500,500,50")
    parser.add_argument("--mlp-epochs", type=int, default=2)
    parser.add_argument("--max-candidates", type=int, default=400)
    parser.add_argument("--per-member", type=int, default=30)
    parser.add_argument("--target-precision", type=float, default=0.9)
    parser.add_argument("--models", default="gbm,mlp")
    parser.add_argument("--queries-per-day", type=int, default=0, help="sample this many member accesses per day (0: all)")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mid-quality-"))
    days = args.history + args.test_days
    gen = Generator(args.members, days, date(2026, 1, 1), seed=args.seed)
    paths = {"city": work / "City.mmdb", "isp": work / "ISP.mmdb", "asn": work / "ASN.mmdb", "asn-csv": work / "asn.csv"}
    gen.write_geo(str(paths["city"]), str(paths["isp"]), str(paths["asn"]), str(paths["asn-csv"]))
    network = {"city": "", "city+asn": paths["asn"], "city+asn-csv": paths["asn-csv"], "city+isp": paths["isp"]}[args.geo]
    geo = GeoLookup(str(paths["city"]), str(network))

    def day_frame(day):
        frame = pd.DataFrame(gen.day_records(day, reveal_visitors=True), columns=["member_id", "ts", "ip", "user_agent"])
        frame["day"] = day
        return frame
    raw = timed("generate", lambda: pd.concat([day_frame(d) for d in range(days)], ignore_index=True))
    enriched = timed("enrich", lambda: enrich(raw, geo).assign(day=raw["day"].to_numpy()))
    visitor = enriched["member_id"].str.startswith("v")
    members_only = enriched[~visitor]  # the store never holds anonymous visitors

    def store_until(last_day):
        return usable_store(members_only[members_only["day"] <= last_day], per_member=args.per_member)

    def queries_of(day):
        rows = evaluation.member_rows(enriched[enriched["day"] == day])
        if args.queries_per_day and len(rows) > args.queries_per_day:
            rows = rows.sample(args.queries_per_day, random_state=day).reset_index(drop=True)
        return rows

    train_store = store_until(args.history - 2)
    member_acc = members_only[(members_only["member_id"] != "") & ~members_only["is_bot"]]
    print(f"world: {args.members} members, {int(visitor.sum())} visitor accesses; store for training "
          f"{len(train_store)} accesses of {train_store['member_id'].nunique()} members; member accesses with a "
          f"missing field {(member_acc['missing_fields'] != '').mean():.3f}, unusable "
          f"{(member_acc['unusable'] != '').mean():.4f}; evidence levels "
          f"{member_acc['evidence'].value_counts(normalize=True).round(3).head(6).to_dict()}", flush=True)
    table = features.feature_table(train_store, features.GroupStats().fit(train_store))
    sampler = training.PairSampler(train_store, table)
    names = features.pair_feature_names(table)
    models = {}
    if "gbm" in args.models:
        models["gbm"] = timed("train gbm", lambda: training.train_gbm(sampler, args.pairs, 50_000, 1.0, args.seed,
                                                                      args.pairs, names))
    if "mlp" in args.models:
        hidden = tuple(int(x) for x in args.mlp_hidden.split(","))
        models["mlp"] = timed(f"train mlp {hidden}", lambda: training.train_mlp(
            sampler, args.pairs, 50_000, 1.0, args.seed, hidden, args.mlp_epochs, names))
    results = {}
    for kind, model in models.items():
        estimator = Estimator(model, train_store, max_candidates=args.max_candidates)
        cal = evaluation.calibrate(timed(f"{kind} calibration day", lambda: evaluation.score_queries(
            estimator, queries_of(args.history - 1))), args.target_precision)
        scored = []
        for day in range(args.history, days):
            estimator = Estimator(model, store_until(day - 1), max_candidates=args.max_candidates)
            scored.append(timed(f"{kind} test day {day}", lambda: evaluation.apply_decision_model(
                evaluation.score_queries(estimator, queries_of(day)), cal["decision_model"])))
        strict = sum(s.attrs["strict_answerable"] for s in scored)
        scored = pd.concat(scored, ignore_index=True)
        scored.attrs["strict_answerable"] = strict
        m = evaluation.metrics(scored, cal["threshold"], cal["calibrator"])
        m["calibration"] = {k: v for k, v in cal.items() if k not in ("calibrator", "decision_model")}
        if cal["decision_model"] is not None:  # the same test days with the plain max-likelihood rule
            plain = evaluation.calibrate(evaluation.score_queries(Estimator(model, train_store, max_candidates=args.max_candidates),
                                                                  queries_of(args.history - 1)), args.target_precision,
                                         decision_model=False)
            m["max_likelihood_rule"] = {k: v for k, v in evaluation.metrics(
                evaluation.apply_decision_model(scored, None), plain["threshold"]).items()
                if k in ("threshold", "no_member_precision", "no_member_recall", "top1_accuracy_known",
                         "known_told_no_member")}
        results[kind] = m
        print(kind, json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()
                                if k not in ("no_member_curve", "accuracy_by_stored_accesses")}), flush=True)
        print(kind, "no-member curve (test days):", [(c["threshold"], None if c["precision"] is None else
                                                      round(c["precision"], 3), None if c["recall"] is None
                                                      else round(c["recall"], 3)) for c in m["no_member_curve"]],
              flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "results": results}, indent=1, default=str))


if __name__ == "__main__":
    main()
