"""Mouse pipeline throughput on synthetic Balabit-layout data (prints figures; not a test).

Figures: events/s of the Balabit loader (parse + validate) against a bare ``pandas.read_csv`` of
the same files (the I/O floor), events/s of feature extraction, and fit / scoring times of the
three models relative to the paper's session random forest — all measured in this process.
Usage: python bench/mouse_pipeline.py [--users 6] [--actions 25]
"""
import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine
from transforms.mouse import balabit, features, learn, synth
from transforms.mouse.schemas import ACTION_FEATURE_NAMES, SESSION_FEATURE_NAMES


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--actions", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        synth.write_inbox(Path(root), ["d1", "d2"], args.users, seed=5, browse_actions=args.actions, labelled_tests=0)
        day1, day2 = Path(root) / "ds=d1", Path(root) / "ds=d2"
        files = sorted(day1.glob("training_files/*/session_*"))
        _, raw_s = timed(lambda: [pd.read_csv(f) for f in files])
        events, load_s = timed(lambda: balabit.load(day1, Quarantine("bench")))
        (sessions, actions), feat_s = timed(lambda: features.compute(events, 1.0, 4))
        test_events = balabit.load(day2, Quarantine("bench"))
        test_sessions, test_actions = features.compute(test_events, 1.0, 4)
    n = len(events)
    print(f"data: synthetic, {args.users} users, {len(sessions)} sessions, {n} events, {len(actions)} actions")
    print(f"pandas.read_csv baseline : {n / raw_s:10.0f} events/s")
    print(f"balabit.load             : {n / load_s:10.0f} events/s  ({load_s / raw_s:.1f}x the read_csv time)")
    print(f"features.compute         : {n / feat_s:10.0f} events/s  ({len(actions) / feat_s:.0f} actions/s)")
    base = None
    fits = [("session_rf", learn.session_model(150, 0), sessions, test_sessions, SESSION_FEATURE_NAMES)]
    fits += [(name, model, actions, test_actions, ACTION_FEATURE_NAMES)
             for name, model in learn.action_models(150, 0).items()]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        for name, model, train, test, columns in fits:
            _, fit_s = timed(lambda: model.fit(learn._x(train, columns), train["user_id"]))
            _, score_s = timed(lambda: model.predict_proba(learn._x(test, columns)))
            base = base or fit_s
            print(f"{name:11s} fit {fit_s:6.2f} s ({fit_s / base:5.1f}x session_rf) on {len(train)} rows; "
                  f"scoring {len(test) / score_s:8.0f} rows/s")


if __name__ == "__main__":
    main()
