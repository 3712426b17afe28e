"""Crawl throughput: 1 browser vs ``settings.browsers_per_task`` browsers on the fixture web.

    python bench/crawl_throughput.py [N_SITES=40] [--dwell 5] [--timeout 30]
    python bench/crawl_throughput.py 80 --browsers 1,2,4,6,8   # the table that chose the default
    python bench/crawl_throughput.py 40 --executor celery --workers 2   # + the same sites on Celery

Prints sites/hour for each run, the speed-up ratio and peak memory per browser (peak of each
browser's chromedriver+chromium process-tree RSS, sampled every 0.5 s, summed / browsers; RSS
counts shared pages once per process, so PSS, sampled every 2 s, is printed too).
Sites: the fixture web's "ok" sites first (cycled if N exceeds them), so the figure measures
normal pages, not timeouts.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transforms.common import settings as settings_mod  # noqa: E402
from transforms.survey import crawler  # noqa: E402


def run(base, n_browsers, sites, extra_args, label):
    with tempfile.TemporaryDirectory() as tmp:
        s = settings_mod.Settings(**{**base.__dict__, "browsers_per_task": n_browsers,
                                     "lake_uri": Path(tmp).as_uri()})
        stats = {}
        counts = crawler.crawl_batch(s, f"bench-{label}", sites, extra_chromium_args=extra_args, stats=stats)
    n = max(1, stats.get("browsers", 1))
    per_browser = stats.get("peak_rss_bytes", 0) / n / 2**20
    pss = stats.get("peak_pss_bytes", 0) / n / 2**20
    print(f"{label:>12}: {n_browsers} browser(s) {counts['visited']} sites in {counts['seconds']:.1f} s "
          f"= {counts['sites_per_hour']:.0f} sites/hour; outcomes {counts['by_outcome']}; "
          f"peak RSS/browser {per_browser:.0f} MiB (PSS {pss:.0f} MiB)", flush=True)
    return counts, per_browser, pss


def sweep(base, sites, extra_args, counts):
    """One run per browser count; a table of sites/hour against the dwell-bound limit."""
    import os

    rows = []
    for n in counts:
        result, rss, pss = run(base, n, sites, extra_args, f"browsers-{n}")
        rows.append((n, result["sites_per_hour"], rss, pss, os.getloadavg()[0]))
    first = rows[0][1] or float("nan")
    print("\n| browsers | sites/hour | vs first | dwell-bound limit | share of limit | PSS/browser MiB | load 1 min |")
    print("|---|---|---|---|---|---|---|")
    for n, rate, _rss, pss, load in rows:
        limit = n * 3600 / base.dwell_s
        print(f"| {n} | {rate:,.0f} | {rate / first:.2f}x | {limit:,.0f} | {rate / limit:.2f} | {pss:.0f} | {load:.1f} |")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=40)
    ap.add_argument("--dwell", type=float, default=None, help="default: settings.dwell_s (5 s)")
    ap.add_argument("--timeout", type=float, default=None, help="default: settings.page_load_timeout_s")
    ap.add_argument("--executor", choices=["local", "celery"], default="local",
                    help="celery: also crawl the same sites through a CeleryExecutor deployment (bench/crawl_cluster.py)")
    ap.add_argument("--workers", type=int, default=2, help="Celery workers taking crawl batches (1 or 2)")
    ap.add_argument("--browsers", default=None,
                    help="comma-separated browser counts to sweep (e.g. 1,2,4,6,8); default: 1 and the setting")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.v else logging.WARNING)
    base = settings_mod.load(dwell_s=a.dwell, page_load_timeout_s=a.timeout, host_resolver_rules="")

    from transforms.survey.fixture_web import FixtureWeb, load_ground_truth

    truth = load_ground_truth()
    ok = [d for d, v in truth.items() if v["expected_outcome"] == "ok"]
    names = [ok[i % len(ok)] for i in range(a.n)]
    if a.n > len(ok):
        print(f"note: only {len(ok)} ok fixture sites; crawling {len(ok)}", flush=True)
        names = ok
    sites = [{"rank": truth[d]["rank"], "domain": d, "group": truth[d]["group"]} for d in names]
    print(f"{len(sites)} fixture sites, dwell {base.dwell_s} s, page-load timeout {base.page_load_timeout_s} s",
          flush=True)
    with FixtureWeb() as web:
        if a.browsers:
            return sweep(base, sites, web.chromium_args(), [int(n) for n in a.browsers.split(",")])
        one, rss1, pss1 = run(base, 1, sites, web.chromium_args(), "serial")
        many, rssn, pssn = run(base, base.browsers_per_task, sites, web.chromium_args(), "concurrent")
        if a.executor == "celery":
            import os

            from bench.crawl_cluster import crawl_on_celery

            celery = crawl_on_celery(sites, web, a.workers, base.browsers_per_task, base.dwell_s,
                                     base.page_load_timeout_s)
            print(f"{'celery':>12}: {a.workers} worker(s) × 2 tasks × {base.browsers_per_task} browser(s) "
                  f"{celery['visited']} sites in {celery['seconds']:.1f} s (DAG run wall time, {celery['state']}) "
                  f"= {celery['sites_per_hour']:.0f} sites/hour; vs in-process concurrent "
                  f"{celery['sites_per_hour'] / max(many['sites_per_hour'], 1e-9):.2f}x; "
                  f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    ratio = many["sites_per_hour"] / one["sites_per_hour"] if one["sites_per_hour"] else float("nan")
    print(f"sites/hour: 1 browser {one['sites_per_hour']:.0f}, {base.browsers_per_task} browsers "
          f"{many['sites_per_hour']:.0f}, ratio {ratio:.2f}x; peak RSS per browser "
          f"RSS {rss1:.0f} MiB (1) / {rssn:.0f} MiB ({base.browsers_per_task}); "
          f"PSS {pss1:.0f} MiB (1) / {pssn:.0f} MiB ({base.browsers_per_task})")


if __name__ == "__main__":
    main()
