"""Member-ID estimation benchmark: in-process latency with the candidate index vs scoring every
stored access (the paper's method, the baseline), and API throughput on loopback.

    python bench/member_id_estimation.py --members 100000 --days 10 --api-requests 4000

Data: synthetic (transforms/synthetic/member_id_logs.py): ``--days`` days form the store (at most
``--per-member`` most recent accesses per member, as the served estimator keeps), the next day
gives the queries. The model is a GBM on 50k pairs (accuracy is not the point here).
API: the app runs under uvicorn in child processes (``--api-processes``, each with
``--api-workers`` estimation threads; request store ``--api-db``: a SQLite file and/or a
throw-away PostgreSQL database on the ``--api-pg`` server, dropped afterwards). Per store, the
baseline runs first: one process, ``--api-concurrency`` clients each doing a POST and a long-poll
GET of its result; then, in the same run, the configuration asked for (``--api-processes``,
``--api-batch`` B: ``--api-batch-clients`` clients each doing a batch POST of B accesses and one
long-poll GET of the B results). CPU per estimation is reported for the API processes, the load
generator and PostgreSQL's backends. Traffic goes to 127.0.0.1 only; the load is bounded in
count and time.
"""
import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transforms.member_id import features, training  # noqa: E402
from transforms.member_id.enrich import enrich  # noqa: E402
from transforms.member_id.estimator import Estimator, usable_store  # noqa: E402
from transforms.synthetic.member_id_logs import Generator  # noqa: E402
from transforms.member_id.geo import GeoLookup  # noqa: E402
from transforms.member_id.ingest import validate_ip  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb(pid="self", field="VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_pid(pids) -> dict[int, float]:
    """CPU seconds so far of those of ``pids`` that still run."""
    out = {}
    for pid in pids:
        try:
            out[pid] = cpu_seconds(pid)
        except (OSError, IndexError):
            continue
    return out


def with_children(pid: int) -> list[int]:
    """``pid`` and its direct children (uvicorn's worker processes)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return [pid, *children]


PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def pg_database(create: bool, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}" if create else f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def pg_backends(name: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving database ``name`` (their CPU is the API's
    too: the server runs on this machine)."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN)
    with admin.connect() as conn:
        pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": name}).scalars()
        pids = list(pids)
    admin.dispose()
    return pids


def timed(label, fn):
    started = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - started:.1f}s (RSS {rss_mb():.0f} MB)", flush=True)
    return out


def build(members: int, days: int, work: Path):
    gen = Generator(members, days + 1, date(2026, 3, 1), seed=11)
    gen.write_geo(str(work / "City.mmdb"), str(work / "ISP.mmdb"))
    geo = GeoLookup(str(work / "City.mmdb"), str(work / "ISP.mmdb"))
    enriched = [enrich(pd.DataFrame(gen.day_records(day), columns=["member_id", "ts", "ip", "user_agent"]), geo)
                for day in range(days + 1)]
    return pd.concat(enriched[:-1], ignore_index=True), enriched[-1]


def latency(estimator, queries, n, rng):
    rows = rng.choice(len(queries), min(n, len(queries)), replace=False)
    times = []
    for i in rows:
        one = queries.iloc[[i]]
        started = time.perf_counter()
        estimator.estimate(one)
        times.append((time.perf_counter() - started) * 1000)
    return np.percentile(times, [50, 95, 99])


class EveryStoredAccess:
    """Stands in for the candidate index: one query's candidates are the whole store."""

    def __init__(self, size: int):
        self.size = size

    def lookup(self, keys):
        assert len(keys) == 1
        return np.zeros(self.size, np.int64), np.arange(self.size, dtype=np.int64), np.array([0, self.size])


def start_server(estimator, work: Path, port: int, db_url: str, processes: int, workers: int
                 ) -> tuple[subprocess.Popen, str]:
    from transforms.common.lake import Lake
    from transforms.common.models import ModelRegistry
    from transforms.member_id.api import db

    lake_uri = (work / "lake").as_uri()
    registry = ModelRegistry(Lake(lake_uri), "member_id")
    registry.promote(registry.save(estimator, {}, {}, {"decision_accuracy": 0.0}), "bench")
    engine = db.connect(db_url)
    key = db.create_key(engine, f"bench-{uuid.uuid4().hex[:8]}", rate_per_minute=10**9)  # one per run (--api-compare)
    engine.dispose()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRACKSCOPE_LAKE_URI": lake_uri, "TRACKSCOPE_MID_API_DB_URL": db_url,
           "TRACKSCOPE_MID_CITY_MMDB": str(work / "City.mmdb"), "TRACKSCOPE_MID_ISP_MMDB": str(work / "ISP.mmdb"),
           "TRACKSCOPE_MID_API_WORKERS": str(workers), "TRACKSCOPE_MID_API_RELOAD_S": "600"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "transforms.member_id.api.app:create_app_from_settings",
                               "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                               "--timeout-keep-alive", "60", "--workers", str(processes)],
                              env=env, cwd=str(REPO))
    return server, key


async def load(bodies, key: str, port: int, concurrency: int, seconds: float, batch: int = 1
               ) -> tuple[int, int, list, float]:
    """Each of ``concurrency`` clients submits and long-polls its results until the bodies are
    used up or ``seconds`` pass: ``batch`` 1, one POST /v1/estimations and GETs of its result;
    ``batch`` B > 1, one batch POST of B accesses and GETs of all B results at once (every one
    of the B counts one round trip of the batch's duration). aiohttp (installed with geoip2)
    keeps the generator's own CPU cost per request low."""
    import aiohttp

    deadline = time.monotonic() + seconds
    queue = list(reversed(bodies))
    done, failed, round_trips, gets = 0, 0, [], 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def submit(chunk) -> tuple[str, dict]:
            if batch == 1:
                async with session.post("/v1/estimations", json=chunk[0]) as response:
                    return (await response.json())["result_url"], {"wait": "5"}
            async with session.post("/v1/estimation-batches", json={"requests": chunk}) as response:
                items = (await response.json())["items"]
            return "/v1/estimations", [("key", item["key"]) for item in items] + [("wait", "5")]

        async def one_client():
            nonlocal done, failed, gets
            while queue and time.monotonic() < deadline:
                chunk = [queue.pop() for _ in range(min(batch, len(queue)))]
                started = time.monotonic()
                try:
                    url, params = await submit(chunk)
                    while time.monotonic() < deadline:
                        async with session.get(url, params=params) as response:
                            answer = await response.json()
                        gets += 1
                        statuses = [item["status"] for item in answer.get("items", [answer])]
                        if "processing" not in statuses:
                            done += statuses.count("success")
                            failed += statuses.count("error")
                            round_trips.extend([(time.monotonic() - started) * 1000] * len(statuses))
                            break
                except aiohttp.ClientError as exc:
                    print(f"client error (round trip not counted): {exc!r}", flush=True)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
    calls = max(1, len(round_trips) // batch)
    print(f"load generator: {gets / calls:.2f} result GETs per {'batch' if batch > 1 else 'round trip'}", flush=True)
    return done, failed, round_trips, time.perf_counter() - started


def api_throughput(estimator, work: Path, queries, args):
    import httpx

    requests, concurrency, seconds, port = args.api_requests, args.api_concurrency, args.api_seconds, args.api_port
    pg_name = f"trackscope_bench_{uuid.uuid4().hex[:10]}"
    if args.api_db == "postgresql":
        pg_database(True, pg_name)
        db_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{pg_name}"
    else:
        db_url = f"sqlite:///{work / f'api-{uuid.uuid4().hex[:8]}.sqlite'}"  # a fresh store per measured run
    server, key = start_server(estimator, work, port, db_url, args.api_processes, args.api_workers)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 600:  # the server loads the promoted model on its first health check
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=600).json()["model_version"]:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
                if server.poll() is not None:
                    raise RuntimeError("the API server exited")
        if args.api_processes > 1:  # /health reached one process: let every one load the model
            while len(with_children(server.pid)) <= args.api_processes and time.monotonic() - started < 600:
                time.sleep(0.5)
            for _ in range(20 * args.api_processes):
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=600)
        print(f"API server up with the model in {time.monotonic() - started:.1f}s "
              f"(RSS {sum(rss_mb(p) for p in with_children(server.pid)):.0f} MB)", flush=True)
        sample = queries.sample(requests + 200, replace=requests + 200 > len(queries), random_state=1)
        bodies = [{"ip": r.ip, "access_time": r.ts.isoformat(), "user_agent": r.user_agent} for r in sample.itertuples()
                  if validate_ip(r.ip)[0] is not None]  # the API refuses what the ingest quarantines
        # warm-up: GeoIP readers, UA cache, SQL connections
        asyncio.run(load(bodies[:200], key, port, concurrency, 60, args.api_batch))
        backends = (lambda: pg_backends(pg_name)) if args.api_db == "postgresql" else list
        groups = (lambda: with_children(server.pid), lambda: [os.getpid()], backends)
        cpu_before = [cpu_by_pid(g()) for g in groups]
        done, failed, trips, elapsed = asyncio.run(load(bodies[200:], key, port, concurrency, seconds, args.api_batch))
        # a process that ended during the run is not counted; one that started during it, wholly
        cpu = [sum(now - before.get(pid, 0.0) for pid, now in cpu_by_pid(g()).items()) * 1000 / max(1, done + failed)
               for g, before in zip(groups, cpu_before)]
        print(f"CPU per estimation: API server(s) {cpu[0]:.2f} ms, load generator {cpu[1]:.2f} ms"
              + (f", PostgreSQL backends {cpu[2]:.2f} ms" if args.api_db == "postgresql" else ""), flush=True)
        return done, failed, trips, elapsed, sum(rss_mb(pid, "VmHWM") for pid in with_children(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.api_db == "postgresql":
            pg_database(False, pg_name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--per-member", type=int, default=30, help="stored accesses kept per member (as served)")
    parser.add_argument("--max-candidates", type=int, default=400)
    parser.add_argument("--latency-queries", type=int, default=500)
    parser.add_argument("--baseline-queries", type=int, default=5)
    parser.add_argument("--api-requests", type=int, default=4000)
    parser.add_argument("--api-concurrency", type=int, default=64)
    parser.add_argument("--api-seconds", type=float, default=60)
    parser.add_argument("--api-port", type=int, default=8765)
    parser.add_argument("--api-db", choices=("sqlite", "postgresql"), nargs="+", default=["sqlite"],
                        help="request store(s), each measured in turn; postgresql: a throw-away database "
                             "on the server of --api-pg, dropped afterwards")
    parser.add_argument("--api-pg", default=PG_ADMIN, help="PostgreSQL admin URL (its server must run on this machine)")
    parser.add_argument("--api-processes", type=int, default=1, help="uvicorn --workers (API processes)")
    parser.add_argument("--api-workers", type=int, default=2, help="estimation threads per API process")
    parser.add_argument("--api-batch", type=int, default=1,
                        help="accesses per batch POST (1: single POSTs); results fetched with one GET per batch")
    parser.add_argument("--api-batch-clients", type=int, default=8, help="concurrent clients when --api-batch > 1")
    args = parser.parse_args()
    globals()["PG_ADMIN"] = args.api_pg
    work = Path(tempfile.mkdtemp(prefix="mid-bench-"))
    stored, queries = timed("generate + enrich", lambda: build(args.members, args.days, work))
    store = usable_store(stored, per_member=args.per_member)
    del stored
    queries = queries[(queries["member_id"] != "") & (queries["unusable"] == "")].reset_index(drop=True)
    print(f"store: {len(store)} accesses of {store['member_id'].nunique()} members (at most {args.per_member} each);"
          f" {len(queries)} query accesses of the next day", flush=True)
    table = timed("group stats + features", lambda: features.feature_table(store, features.GroupStats().fit(store)))
    sampler = training.PairSampler(store, table)
    model = timed("train gbm (50k pairs)", lambda: training.train_gbm(
        sampler, 50_000, 25_000, 1.0, 1, 50_000, features.pair_feature_names(table)))
    del sampler, table
    estimator = timed("build estimator (stats, features, index)",
                      lambda: Estimator(model, store, threshold=0.5, max_candidates=args.max_candidates))
    print(f"estimator arrays: {estimator.nbytes() / 2**20:.0f} MB (features {estimator.table.numbers.nbytes / 2**20:.0f}"
          f" + {estimator.table.strings.nbytes / 2**20:.0f} MB, index {estimator.index.nbytes() / 2**20:.0f} MB);"
          f" bench process RSS {rss_mb():.0f} MB, peak {peak_rss_mb():.0f} MB", flush=True)

    rng = np.random.default_rng(0)
    estimator.estimate(queries.iloc[:20])  # warm-up
    p50, p95, p99 = latency(estimator, queries, args.latency_queries, rng)
    print(f"indexed estimation latency, one query per call, {args.latency_queries} queries: "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms", flush=True)
    batch = queries.iloc[:640]
    started = time.perf_counter()
    for start in range(0, len(batch), 64):
        estimator.estimate(batch.iloc[start:start + 64])
    print(f"in-process batches of 64: {len(batch) / (time.perf_counter() - started):.0f} estimations/s", flush=True)

    if args.api_requests:
        # per store: the baseline (one process, single POST + GET per access) first, then the
        # configuration asked for, in the same run
        configured = (args.api_processes, args.api_batch)
        for store_db in args.api_db:
            rates = {}
            for processes, batch in dict.fromkeys([(1, 1), configured]):
                run = argparse.Namespace(**{**vars(args), "api_db": store_db, "api_processes": processes,
                                            "api_batch": batch, "api_concurrency": args.api_concurrency
                                            if batch == 1 else args.api_batch_clients})
                done, failed, trips, elapsed, server_mb = api_throughput(estimator, work, queries, run)
                p50_trip, p95_trip = np.percentile(trips, [50, 95]) if trips else (float("nan"),) * 2
                rates[processes, batch] = (done + failed) / elapsed
                calls = (f"batch POSTs of {batch} + long-poll GET of the batch's results" if batch > 1
                         else "POST + long-poll GET")
                print(f"API (uvicorn on 127.0.0.1, {processes} process(es) x {args.api_workers} estimation threads, "
                      f"{'SQLite' if store_db == 'sqlite' else 'PostgreSQL'}, {run.api_concurrency} clients, "
                      f"{calls}): {done + failed}/{args.api_requests} round trips in {elapsed:.1f}s = "
                      f"{rates[processes, batch]:.0f} estimations/s ({failed} answered error); round trip p50 "
                      f"{p50_trip:.0f} ms, p95 {p95_trip:.0f} ms; server peak RSS {server_mb:.0f} MB (sum); "
                      f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
            if len(rates) == 2:
                print(f"API throughput on {store_db}, {configured[0]} process(es) with batches of {configured[1]} "
                      f"vs the baseline (1 process, single requests; same run): {rates[configured]:.0f} vs "
                      f"{rates[1, 1]:.0f} estimations/s = x{rates[configured] / rates[1, 1]:.2f}", flush=True)

    brute = Estimator.__new__(Estimator)
    brute.__dict__.update(estimator.__dict__)
    brute.index = EveryStoredAccess(len(store))
    b50, b95, _ = latency(brute, queries, args.baseline_queries, rng)
    print(f"baseline (score every stored access) over {args.baseline_queries} queries: p50 {b50:.0f} ms, "
          f"p95 {b95:.0f} ms -> index speed-up x{b50 / p50:.0f} (p50)")
    print(f"bench process peak RSS (incl. baseline's {len(store)}-pair scoring): {peak_rss_mb():.0f} MB")
    print(f"load average (1, 5, 15 min): {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    main()
