"""Benchmark: daily features of a whole log (default: the real-shape generator, 1,000 users x 91
days), read through the DAG's checks (read / kept / merged / quarantined / duplicate counts), peak memory.

Baseline in the same process: the same features with the tokenizer cache off (every query
through MeCab / the regex again), on a 100,000-query sample, extrapolated.
Usage: python bench/search_auth_features.py [--users 1000] [--days 91] [--log PATH] [--tz ZONE]
       [--shape real|daily] [--first-day YYYY-MM-DD]  (a missing --log is generated)
"""
import argparse
import logging
import resource
import time
from pathlib import Path

import pandas as pd

from transforms.search_auth import features, text
from transforms.search_auth.features import describe_counts, features_from_log
from transforms.synthetic.search_auth_logs import generate


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--days", type=int, default=91)
    parser.add_argument("--log", default="/tmp/search_auth_bench/aol-real-1000x91.txt")
    parser.add_argument("--features-out", default="/tmp/search_auth_bench/features-real-1000x91.parquet")
    parser.add_argument("--tz", default="Asia/Tokyo", help="timezone of the log's naive timestamps")
    parser.add_argument("--first-day", default="2026-01-01", help="first day of a generated log")
    parser.add_argument("--shape", choices=["real", "daily"], default="real", help="generator shape")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not Path(args.log).exists():
        started = time.perf_counter()
        print("generated", generate(args.log, args.users, args.days, args.first_day, seed=args.seed, shape=args.shape),
              f"in {time.perf_counter() - started:.0f}s")
    started = time.perf_counter()
    frame, counts, _ = features_from_log(args.log, args.tz, 256)  # parse + checks + features for every day
    elapsed = time.perf_counter() - started
    print(f"{args.log}: {describe_counts(counts)}")
    queries = int(frame["search_count"].sum())
    frame.to_parquet(args.features_out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"daily features: {queries:,} queries, {len(frame):,} user-days in {elapsed:.1f}s "
          f"({queries / elapsed:,.0f} queries/s), peak RSS {peak_mb:,.0f} MB")
    # baseline: no tokenizer cache, 100k queries
    sample = pd.read_csv(args.log, sep="\t", nrows=150_000, dtype=str, keep_default_na=False, quoting=3)
    sample = sample.drop_duplicates(["AnonID", "QueryTime", "Query"]).head(100_000)
    queries_frame = pd.DataFrame({"user_id": sample["AnonID"], "ts": pd.to_datetime(sample["QueryTime"], utc=True),
                                  "hour": pd.to_datetime(sample["QueryTime"]).dt.hour, "query": sample["Query"]})
    text.nouns.cache_clear()
    cached = text.nouns
    text.nouns = cached.__wrapped__  # uncached
    features.nouns = text.nouns
    try:
        started = time.perf_counter()
        features.daily_features(queries_frame)
        baseline = (time.perf_counter() - started) / len(queries_frame)
    finally:
        text.nouns = features.nouns = cached
    text.nouns.cache_clear()
    started = time.perf_counter()
    features.daily_features(queries_frame)
    ours = (time.perf_counter() - started) / len(queries_frame)
    print(f"100k-query sample: cached tokenizer {ours * 1e6:.1f} us/query vs uncached baseline "
          f"{baseline * 1e6:.1f} us/query: x{baseline / ours:.1f}; baseline extrapolated to {queries:,} queries: "
          f"{baseline * queries:.0f}s")


if __name__ == "__main__":
    main()
