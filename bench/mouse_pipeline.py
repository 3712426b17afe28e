"""Mouse pipeline throughput (prints figures; not a test).

Loading: events/s and peak memory of the vectorised Balabit loader against the row-by-row
reference loader (the loader before issue 17) on the same files, each in its own child process
(peak RSS above the child's state after imports), plus a bare ``pandas.read_csv`` (the I/O floor).
Then events/s of feature extraction and fit / scoring times of the models relative to the paper's
session random forest. Data: synthetic Balabit-layout users, or a real Balabit directory.
Usage: python bench/mouse_pipeline.py [--users 6] [--actions 25] [--balabit DIR] [--skip-reference]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine
from transforms.mouse import balabit, features, learn
from transforms.synthetic import mouse_sessions
from transforms.mouse.schemas import ACTION_FEATURE_NAMES, SESSION_FEATURE_NAMES


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


CHILD = """
import json, resource, sys, time
from pathlib import Path
from transforms.common.quarantine import Quarantine
from transforms.mouse import balabit
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
events = getattr(balabit, sys.argv[1])(Path(sys.argv[2]), Quarantine("bench"))
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"events": len(events), "seconds": seconds, "peak_mb": peak / 1024,
                  "peak_above_imports_mb": (peak - before) / 1024}))
"""


def load_in_child(loader: str, root: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, loader, str(root)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_loading(root: Path, label: str, reference: bool) -> None:
    results = {"load (vectorised)": load_in_child("load", root)}
    if reference:
        results["load_rowwise (reference)"] = load_in_child("load_rowwise", root)
    files = sorted(root.glob("training_files/*/session_*")) + sorted(root.glob("test_files/*/session_*"))
    _, raw_s = timed(lambda: [len(pd.read_csv(f)) for f in files])
    print(f"loading, {label}: {results['load (vectorised)']['events']} events kept "
          f"(pandas.read_csv of all {len(files)} files, I/O floor: {raw_s:.1f} s)")
    base = results["load (vectorised)"]
    for name, r in results.items():
        print(f"  {name:26s}: {r['events'] / r['seconds']:10.0f} events/s, {r['seconds']:7.1f} s, "
              f"peak RSS {r['peak_mb']:7.0f} MB ({r['peak_above_imports_mb']:6.0f} MB above imports)")
    if reference:
        ref = results["load_rowwise (reference)"]
        print(f"  vectorised vs reference   : {ref['seconds'] / base['seconds']:.1f}x faster, "
              f"{ref['peak_above_imports_mb'] / max(base['peak_above_imports_mb'], 1):.1f}x less memory above imports")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--actions", type=int, default=25)
    parser.add_argument("--balabit", type=Path, help="a real Balabit directory: loading figures on it")
    parser.add_argument("--skip-reference", action="store_true", help="do not run the row-by-row loader")
    args = parser.parse_args()
    if args.balabit:
        bench_loading(args.balabit, f"real Balabit directory {args.balabit}", not args.skip_reference)
    with tempfile.TemporaryDirectory() as root:
        mouse_sessions.write_inbox(Path(root), ["d1", "d2"], args.users, seed=5, browse_actions=args.actions, labelled_tests=0)
        day1, day2 = Path(root) / "ds=d1", Path(root) / "ds=d2"
        bench_loading(day1, f"synthetic, {args.users} users", not args.skip_reference)
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
