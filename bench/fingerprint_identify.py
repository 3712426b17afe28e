"""Identification against 1,000,000 stored fingerprints: 7-gram index vs brute force.

Stored: seeded generated visits, each also seen from other networks (global/private IP varied),
hashed with ssdeep. Queries: later visits of stored devices and visits of unseen devices.
Prints index p50/p99 latency, brute force (ssdeep.compare over every stored hash) on a few
queries for the ratio, answers equality, and the index's memory.
Usage: python bench/fingerprint_identify.py [--stored 1000000] [--queries 300] [--brute 5]
       [--data FILE.{jsonl,csv,parquet} | --generator modern] [--representation canonical|informative]
With ``--data`` the stored fingerprints come from a file of visits (the ingest's formats; each
visit also seen from other networks until ``--stored`` is reached); ``--generator modern`` uses
the modern generator. ``--representation informative`` hashes the informative strings
(present attributes weighted by their entropy in the stored visits) instead of the paper's.
"""
import argparse
import os
import random
import time
from datetime import date

import numpy as np
import psutil
import ssdeep

from transforms.fingerprint.attributes import ATTRIBUTES, canonical_string, normalise
from transforms.fingerprint.fuzzy import FuzzyIndex
from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator


def _canonical(visit: dict) -> str:
    return canonical_string({name: normalise(name, visit.get(name)) for name in ATTRIBUTES})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--brute", type=int, default=5)
    parser.add_argument("--data", default="", help="visits file (JSONL/CSV/Parquet) instead of the generator")
    parser.add_argument("--generator", default="classic", choices=["classic", "modern"])
    parser.add_argument("--representation", default="canonical", choices=["canonical", "informative"])
    args = parser.parse_args()
    rng = random.Random(1)
    started = time.perf_counter()
    devices = max(args.stored // 8, 1000)
    if args.data:
        from pathlib import Path

        from transforms.common.quarantine import Quarantine
        from transforms.fingerprint.ingest import read_records

        quarantine = Quarantine("bench")
        visits = [{k: v for k, v in r.items() if k != "_source"} for r in read_records(Path(args.data), quarantine)]
        print(f"read {len(visits):,} visits from {args.data} ({len(quarantine)} quarantined)")
    elif args.generator == "modern":
        from transforms.synthetic.fingerprint_visits import ModernGenerator

        visits = ModernGenerator(GeneratorConfig(seed=21, devices=devices, days=720, start=date(2013, 7, 1))).visits()
    else:
        visits = HistoryGenerator(GeneratorConfig(seed=21, devices=devices, days=720, start=date(2013, 7, 1))).visits()
    held_out, visits = visits[-args.queries:], visits[:-args.queries]
    global _canonical
    if args.representation == "informative":
        import pandas as pd

        from transforms.fingerprint.informative import EntropyWeights, informative_string

        frame = pd.DataFrame([{n: normalise(n, v.get(n)) for n in ATTRIBUTES} for v in visits])
        codes = {n: pd.factorize(frame[n], use_na_sentinel=True)[0] for n in ATTRIBUTES}
        weights = EntropyWeights.from_codes(codes)
        print("entropy weights (bits, copies):", {n: (round(weights.bits[n], 2), weights.copies(n)) for n in ATTRIBUTES if weights.bits[n]})
        _canonical = lambda visit: informative_string({n: normalise(n, visit.get(n)) for n in ATTRIBUTES}, weights) or "-"
    texts = []
    while len(texts) < args.stored:
        for visit in visits:
            texts.append(_canonical(visit))
            for _ in range(3):  # the same fingerprint seen from other networks
                texts.append(_canonical(dict(visit, global_ip=f"{rng.randint(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                                             private_ip=f"10.0.{rng.randrange(256)}.{rng.randrange(256)}")))
            if len(texts) >= args.stored:
                break
    print(f"generated {len(texts):,} stored fingerprints from {len(visits):,} visits in {time.perf_counter() - started:.0f}s")
    t0 = time.perf_counter()
    stored = [ssdeep.hash(t) for t in texts]
    print(f"hashed in {time.perf_counter() - t0:.0f}s; {len(set(stored)):,} distinct hashes")
    del texts
    process = psutil.Process(os.getpid())
    before = process.memory_info().rss
    t0 = time.perf_counter()
    index = FuzzyIndex(stored)
    print(f"index built in {time.perf_counter() - t0:.0f}s: {len(index.keys):,} postings; numpy arrays "
          f"{index.nbytes / 2**20:.0f} MiB; process RSS +{(process.memory_info().rss - before) / 2**20:.0f} MiB")

    queries = [ssdeep.hash(_canonical(v)) for v in held_out[: args.queries // 2]]  # unseen visits
    for visit in rng.sample(visits, args.queries - len(queries)):  # stored devices, changed a little
        queries.append(ssdeep.hash(_canonical(dict(visit, global_ip="203.0.113.9", timezone="-600"))))
    index.best(queries[0])  # compile the kernels outside the timing
    latencies, candidates, scored, matched = [], [], [], 0
    for query in queries:
        t0 = time.perf_counter()
        top, rows = index.best(query)
        latencies.append(time.perf_counter() - t0)
        scored.append(index.last_scored)
        candidates.append(len(index.candidates(query)[0]))
        matched += top > 0
    lat = np.array(latencies) * 1000
    print(f"index: {len(queries)} queries, p50 {np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms, "
          f"max {lat.max():.1f} ms; candidates per query median {int(np.median(candidates)):,} "
          f"(of {len(index):,}), scored exactly median {int(np.median(scored)):,}; {matched} queries with a match")
    brute_times, equal = [], 0
    for query in queries[:: max(len(queries) // args.brute, 1)][: args.brute]:
        t0 = time.perf_counter()
        scores = np.fromiter((ssdeep.compare(query, h) for h in index.table.hashes), dtype=np.int64, count=len(index))
        brute_times.append(time.perf_counter() - t0)
        top = int(scores.max())
        expected = (top, sorted(np.flatnonzero(scores == top).tolist())) if top else (0, [])
        equal += index.best(query) == expected
    brute = np.median(brute_times) * 1000
    print(f"brute force (ssdeep.compare × {len(index):,}): median {brute:.0f} ms per query over {len(brute_times)} queries; "
          f"index answers equal on {equal}/{len(brute_times)}; speed-up at p50 {brute / np.percentile(lat, 50):.0f}x")


if __name__ == "__main__":
    main()
