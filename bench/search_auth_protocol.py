"""Benchmark: the thesis protocol for 1,000 users x 91 days (999,000 ordered pairs), thesis,
extended and sparse methods timed separately (numba compilation done before the clock starts).

Baseline in the same process: the thesis' own formulation (one scikit-learn
RandomForestClassifier(100 trees) per pair) timed on a sample of pairs, extrapolated to all
pairs, and its predictions compared with the compiled forest on the same pairs.
Input: --log (an AOL/CSV log, read through the DAG's checks; counts printed) or --features (the
parquet written by bench/search_auth_features.py).
Usage: python bench/search_auth_protocol.py [--log PATH | --features PATH] [--first-day D] [--tz ZONE]
       [--users N|FILE] [--min-active-days N] [--methods thesis,sparse] [--out DIR]
"""
import argparse
import logging
import resource
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from transforms.search_auth import evaluation
from transforms.search_auth.cli import limit_users
from transforms.search_auth.forest import fit_predict, pair_forests_sweep


def sklearn_baseline(n_pairs: int, seed: int = 0):
    """Per-pair sklearn fits on realistic-size problems vs the compiled forest on the same data."""
    rng = np.random.default_rng(seed)
    sk_time = ours_time = 0.0
    agree = []
    for i in range(n_pairs):
        X = np.vstack([rng.normal(0, 1, (28, 4)), rng.normal(rng.uniform(0.3, 2), 1, (28, 4))])
        y = np.r_[np.ones(28), np.zeros(28)]
        X_test = rng.normal(0.5, 1.2, (105, 4))
        started = time.perf_counter()
        sk = RandomForestClassifier(n_estimators=100, random_state=10).fit(X, y)
        sk_pred = sk.predict(X_test)
        sk_time += time.perf_counter() - started
        started = time.perf_counter()
        proba, _ = fit_predict(X, y, np.ones(56, bool), X_test, 100, 2, i)
        ours_time += time.perf_counter() - started
        agree.append(((proba > 0.5) == sk_pred).mean())
    return sk_time / n_pairs, ours_time / n_pairs, float(np.mean(agree))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", help="AOL/CSV/Parquet log (read through the DAG's checks)")
    parser.add_argument("--features", default="/tmp/search_auth_bench/features-real-1000x91.parquet")
    parser.add_argument("--first-day", help="first of the 91 days (default: the first day in the data)")
    parser.add_argument("--tz", default="Asia/Tokyo", help="timezone of the log's naive timestamps")
    parser.add_argument("--sample-pairs", type=int, default=40)
    parser.add_argument("--users", default="0", help="the first N user ids (0: all) or a file of user ids (one a line)")
    parser.add_argument("--min-active-days", type=int, default=7, help="per period (the sa_min_active_days default)")
    parser.add_argument("--methods", default="thesis,sparse", help="thesis,extended,sparse (timed separately)")
    parser.add_argument("--dims", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default="/tmp/search_auth_bench/report")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # compile (or load the numba cache) before any clock starts
    fit_predict(np.zeros((2, 4)), np.array([1.0, 0.0]), np.ones(2, bool), np.zeros((1, 4)), 1, 2, 0)
    z = np.zeros
    pair_forests_sweep(z((2, 2)), np.ones(2, bool), z((2, 2, 2)), np.ones((2, 2), bool), z((2, 2)), np.ones(2, bool),
                       z((2, 2, 2)), np.ones((2, 2), bool), z((2, 2, 2)), np.ones((2, 2), bool), np.array([True, False]),
                       1, 1, 0, z(2, bool), z((2, 2), bool), z((2, 2), bool), np.array([0.5]))
    sk_pair, our_pair, agree = sklearn_baseline(args.sample_pairs)
    print(f"per pair: sklearn {sk_pair * 1e3:.1f} ms, compiled forest (1 thread) {our_pair * 1e3:.2f} ms "
          f"(x{sk_pair / our_pair:.0f}); prediction agreement {agree:.3f}; "
          f"sklearn for 999,000 pairs x 2 methods: {2 * 999_000 * sk_pair / 3600:.1f} h")
    if args.log:
        from transforms.search_auth.features import describe_counts, features_from_log

        started = time.perf_counter()
        features, counts, _ = features_from_log(args.log, args.tz, 256)
        print(f"{args.log}: {describe_counts(counts)} ({time.perf_counter() - started:.0f}s, not in the protocol time)")
    else:
        features = pd.read_parquet(args.features)
    if args.users.isdigit():
        if int(args.users):
            keep = sorted(features["user_id"].unique())[:int(args.users)]
            features = features[features["user_id"].isin(keep)]
    else:
        features = limit_users(args.users, features)
    first_day = args.first_day or str(features["ds"].min())
    names = {"thesis": evaluation.THESIS, "extended": evaluation.EXTENDED, "sparse": evaluation.SPARSE}
    protocol = evaluation.Protocol(min_active_days=args.min_active_days, doc2vec_dims=args.dims,
                                   doc2vec_epochs=args.epochs,
                                   methods=tuple(names[m.strip()] for m in args.methods.split(",")))
    started = time.perf_counter()
    result = evaluation.evaluate(features, first_day, protocol)
    elapsed = time.perf_counter() - started
    evaluation.write_report(result, args.out)
    print(evaluation.thesis_table(result))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pairs = result["users"] * (result["users"] - 1)
    n_methods = len(result["methods"])
    print(f"protocol: {result['users']} users (excluded {result['users_excluded']}: {result['excluded']}), "
          f"{pairs:,} ordered pairs x {n_methods} methods in {elapsed / 60:.1f} min "
          f"(per method: {({k.split(' (')[0]: r['seconds'] for k, r in result['methods'].items()})} s, "
          f"preparation and request features the rest), peak RSS {peak_mb:,.0f} MB; "
          f"vs sklearn per-pair baseline extrapolated {n_methods * pairs * sk_pair / elapsed:.0f}x; report {args.out}")


if __name__ == "__main__":
    main()
