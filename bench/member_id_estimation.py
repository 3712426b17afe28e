"""Member-ID estimation benchmark: in-process latency with the candidate index vs scoring every
stored access (the paper's method, the baseline), and API throughput on loopback.

    python bench/member_id_estimation.py --members 100000 --days 10 --api-requests 2000

Data: synthetic (transforms/member_id/generator.py); the model is a GBM on 50k pairs (accuracy is
not the point here). Traffic goes to 127.0.0.1 only; the load generator is bounded in count and time.
"""
import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transforms.member_id import features, training  # noqa: E402
from transforms.member_id.enrich import enrich  # noqa: E402
from transforms.member_id.estimator import Estimator, usable_store  # noqa: E402
from transforms.member_id.generator import Generator  # noqa: E402
from transforms.member_id.geo import GeoLookup  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label, fn):
    started = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - started:.1f}s (peak RSS {rss_mb():.0f} MB)", flush=True)
    return out


def build(members: int, days: int, work: Path):
    gen = Generator(members, days + 1, date(2026, 3, 1), seed=11)
    gen.write_geo(str(work / "City.mmdb"), str(work / "ISP.mmdb"))
    geo = GeoLookup(str(work / "City.mmdb"), str(work / "ISP.mmdb"))
    frames = []
    for day in range(days + 1):
        recs = gen.day_records(day)
        frames.append(pd.DataFrame(recs, columns=["member_id", "ts", "ip", "user_agent"]))
    stored = enrich(pd.concat(frames[:-1], ignore_index=True), geo)
    queries = enrich(frames[-1], geo)
    return stored, queries, geo


def latency(estimator, queries, n, rng):
    rows = rng.choice(len(queries), n, replace=False)
    times = []
    for i in rows:
        started = time.perf_counter()
        estimator.estimate(queries.iloc[[i]])
        times.append((time.perf_counter() - started) * 1000)
    return np.percentile(times, [50, 95, 99])


def api_throughput(estimator, work: Path, geo_paths, requests: int, concurrency: int, seconds: float, queries):
    import httpx
    import uvicorn

    from transforms.common.lake import Lake
    from transforms.common.models import ModelRegistry
    from transforms.member_id.api import db
    from transforms.member_id.api.app import create_app

    lake_uri = (work / "lake").as_uri()
    registry = ModelRegistry(Lake(lake_uri), "member_id")
    registry.promote(registry.save(estimator, {}, {}, {"decision_accuracy": 0.0}), "bench")
    app = create_app(f"sqlite:///{work / 'api.sqlite'}", lake_uri, *geo_paths, workers=2, reload_s=60)
    key = db.create_key(app.state.engine, "bench", rate_per_minute=10**9)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=8765, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    sample = queries.sample(min(requests, len(queries)), replace=requests > len(queries), random_state=1)
    bodies = [{"ip": r.ip, "access_time": r.ts.isoformat(), "user_agent": r.user_agent} for r in sample.itertuples()]
    deadline = time.time() + seconds
    headers = {"X-API-Key": key}

    def one(body):
        with httpx.Client(base_url="http://127.0.0.1:8765", headers=headers, timeout=30) as c:
            url = c.post("/v1/estimations", json=body).json()["result_url"]
            while time.time() < deadline:
                if c.get(url).json()["status"] != "processing":
                    return True
                time.sleep(0.02)
        return False

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = sum(pool.map(one, bodies))
    elapsed = time.perf_counter() - started
    server.should_exit = True
    return done, elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--latency-queries", type=int, default=300)
    parser.add_argument("--baseline-queries", type=int, default=10)
    parser.add_argument("--api-requests", type=int, default=2000)
    parser.add_argument("--api-concurrency", type=int, default=32)
    parser.add_argument("--api-seconds", type=float, default=60)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mid-bench-"))
    stored, queries, geo = timed("generate + enrich", lambda: build(args.members, args.days, work))
    store = usable_store(stored, per_member=10**6)
    queries = queries[(queries["member_id"] != "") & (queries["missing_fields"] == "")].reset_index(drop=True)
    print(f"store: {len(store)} accesses of {store['member_id'].nunique()} members; {len(queries)} query accesses")
    table = timed("group stats + features", lambda: features.feature_table(store, features.GroupStats().fit(store)))
    sampler = training.PairSampler(store, table)
    model = timed("train gbm (50k pairs)", lambda: training.train_gbm(
        sampler, 50_000, 25_000, 1.0, 1, 50_000, features.pair_feature_names(table)))
    estimator = timed("build estimator (stats, index)", lambda: Estimator(model, store, threshold=0.5, max_candidates=400))
    rng = np.random.default_rng(0)
    p50, p95, p99 = latency(estimator, queries, args.latency_queries, rng)
    print(f"indexed estimation latency over {args.latency_queries} queries: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms")
    brute = Estimator.__new__(Estimator)
    brute.__dict__.update(estimator.__dict__)
    everything = np.arange(len(store))
    brute.index = type("AllRows", (), {"candidates": lambda self, keys: everything})()
    b50, b95, _ = latency(brute, queries, args.baseline_queries, rng)
    print(f"baseline (score every stored access) over {args.baseline_queries} queries: p50 {b50:.0f} ms, p95 {b95:.0f} ms"
          f" -> index speed-up x{b50 / p50:.0f} (p50)")
    print(f"peak RSS after indexing: {rss_mb():.0f} MB")
    if args.api_requests:
        done, elapsed = api_throughput(estimator, work, (str(work / "City.mmdb"), str(work / "ISP.mmdb")),
                                       args.api_requests, args.api_concurrency, args.api_seconds, queries)
        print(f"API (uvicorn on 127.0.0.1, SQLite, 2 workers, {args.api_concurrency} clients): {done}/{args.api_requests}"
              f" round trips in {elapsed:.1f}s = {done / elapsed:.0f} estimations/s")
    print(f"peak RSS: {rss_mb():.0f} MB")


if __name__ == "__main__":
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    main()
