"""One-to-many linking quality and speed: false-merge rate, linking accuracy, visits/s.

Two data sources, reported separately:
* ``--generated N``: a generated history (``--generator classic|modern``); the hybrid is fitted
  on the first 30 % of the days, thresholds calibrated on the next 30 %, and the remaining 40 %
  linked in time order from an empty store (identities: the generator's truth).
* ``--distinct FILE``: real browser records (the npm ``user-agents`` JSON, or our JSONL excerpt),
  each a distinct device, linked after a history; every match is a false merge.

Usage: python bench/fingerprint_linking.py --generated 1000 [--generator modern] [--distinct FILE --limit 2000]
"""
from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np
import pandas as pd

from transforms.fingerprint import evaluation as ev
from transforms.fingerprint.linking import STORE_COLUMNS, link_visits
from transforms.fingerprint.methods import HybridLinker, InformativeSsdeep, Ssdeep, prepare_records
from transforms.fingerprint.table import VisitTable


def frame_of(records: list[dict]) -> pd.DataFrame:
    frame = prepare_records(records)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    frame["visit_id"] = [f"v{n:07d}" for n in range(len(frame))]
    frame["truth_device"] = [r.get("truth_device") for r in records]
    return frame


def fit_methods(frame: pd.DataFrame, seed: int = 0, max_different: int = 100_000):
    days = frame["ts"].dt.floor("D")
    first, last = days.min(), days.max()
    span = (last - first).days
    fit_end, cal_end = first + pd.Timedelta(days=int(span * 0.3)), first + pd.Timedelta(days=int(span * 0.6))
    fit = VisitTable(frame[days < fit_end])
    calibration = VisitTable(frame[(days >= fit_end) & (days < cal_end)])
    methods = [Ssdeep(), InformativeSsdeep(), HybridLinker(seed=seed)]
    calibrated = ev.fit_and_calibrate(fit, calibration, methods, max_different, seed)
    return methods, calibrated, frame[days >= cal_end].reset_index(drop=True)


def link_figures(methods, visits: pd.DataFrame, store: pd.DataFrame | None = None, max_set: int = 1) -> pd.DataFrame:
    labels = dict(zip(visits["visit_id"], visits["truth_device"]))
    rows = []
    for method in methods:
        started = time.perf_counter()
        links, _ = link_visits(store if store is not None else pd.DataFrame(columns=STORE_COLUMNS), visits, method,
                               keep=5, retention_days=450, max_anonymity_set=max_set)
        seconds = time.perf_counter() - started
        metrics = ev.linking_metrics(links, labels)
        rows.append({"method": method.name, "link_threshold": method.linking_threshold, **metrics,
                     "visits_per_s": len(visits) / seconds})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generated", type=int, default=1000)
    parser.add_argument("--generator", default="classic", choices=["classic", "modern"])
    parser.add_argument("--days", type=int, default=720)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--distinct", default="")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--max-set", type=int, default=1)
    args = parser.parse_args()
    from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator

    started = time.perf_counter()
    config = GeneratorConfig(seed=args.seed, devices=args.generated, days=args.days, start=date(2013, 7, 1))
    if args.generator == "modern":
        from transforms.synthetic.fingerprint_visits import ModernGenerator
        history = ModernGenerator(config).visits()
    else:
        history = HistoryGenerator(config).visits()
    frame = frame_of(history)
    methods, calibrated, test = fit_methods(frame, args.seed)
    print(f"generated ({args.generator}, seed {args.seed}): {args.generated} devices, {len(frame)} visits; "
          f"fit + calibration {time.perf_counter() - started:.0f}s")
    print(calibrated[["method", "threshold", "link_threshold", "link_accuracy", "link_false_merge"]].to_string(index=False))
    print(f"\nlinking the test part ({len(test)} visits, {test['truth_device'].nunique()} devices), generated data:")
    print(link_figures(methods, test, max_set=args.max_set).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.distinct:
        from transforms.fingerprint.user_agents import load_records, to_visits

        records = load_records(args.distinct)[: args.limit]
        distinct = frame_of(to_visits(records, start=test["ts"].max() + pd.Timedelta(days=1)))
        print(f"\nlinking {len(distinct)} real distinct browser records ({args.distinct}) in time order, each its "
              "own device (every match is a false merge):")
        print(link_figures(methods, distinct, max_set=args.max_set).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
