"""All pairs of 3,674 visits scored by every method (the paper's data size), timed.

A seeded generated history; the hybrid linker is fitted on an earlier, disjoint window first
(not timed). Prints pairs/s per method and the total against the issue's 60 s budget, plus the
naive baseline (one ssdeep.compare call per pair, timed on a sample and extrapolated).
Usage: python bench/fingerprint_pairs.py [--visits 3674]
"""
import argparse
import logging
import time
from datetime import date

import numpy as np
import pandas as pd
import ssdeep

from transforms.fingerprint import evaluation as ev
from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator
from transforms.fingerprint.methods import all_methods, prepare_records
from transforms.fingerprint.table import VisitTable


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=3674)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    history = prepare_records(HistoryGenerator(GeneratorConfig(seed=42, devices=3600, days=720, start=date(2013, 7, 1))).visits())
    ts = pd.to_datetime(history["ts"], utc=True, format="ISO8601")
    fit_rows = history[ts < "2014-01-01"]
    test_rows = history[ts >= "2014-01-01"].iloc[: args.visits]
    print(f"data: generated (seed 42); fit window {len(fit_rows)} visits; measured on {len(test_rows)} visits "
          f"({test_rows['uid'].nunique()} UIDs)")
    methods = all_methods()
    fit = VisitTable(fit_rows)
    i, j, same = ev.training_pairs(fit, 100_000, 0)
    next(m for m in methods if m.name == "hybrid").fit(fit, i, j, same)

    started = time.perf_counter()
    table = VisitTable(test_rows)
    prepared = time.perf_counter() - started
    per_method = {m.name: 0.0 for m in methods}
    pairs = 0
    for i, j in ev.all_pairs(table.n):
        same, bucket = ev.same_uid(table, i, j), ev.gap_bucket(table, i, j)
        for m in methods:
            t0 = time.perf_counter()
            counts = ev.Counts.empty(m.score_grid)
            counts.add(m.scores(table, i, j), same, bucket)
            per_method[m.name] += time.perf_counter() - t0
        pairs += len(i)
    total = time.perf_counter() - started
    print(f"pairs: {pairs:,}; table preparation {prepared:.2f}s")
    for name, seconds in per_method.items():
        print(f"  {name:10s} {seconds:7.2f}s  {pairs / seconds / 1e6:6.2f} M pairs/s")
    print(f"TOTAL all methods, all pairs: {total:.1f}s (budget 60 s)")

    hashes = table.hash_values
    rng = np.random.default_rng(0)
    sample = rng.integers(0, len(hashes), size=(200_000, 2))
    t0 = time.perf_counter()
    for a, b in sample:
        ssdeep.compare(hashes[a], hashes[b])
    per_call = (time.perf_counter() - t0) / len(sample)
    print(f"baseline: ssdeep.compare per pair {per_call * 1e6:.2f} µs → {per_call * pairs:.1f}s for all pairs; "
          f"ssdeep method here {per_method['ssdeep']:.1f}s (ratio {per_call * pairs / per_method['ssdeep']:.1f}x)")


if __name__ == "__main__":
    main()
