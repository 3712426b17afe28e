"""Command line: ``python -m transforms.search_auth.cli {score,evaluate,generate}``.

score     a user's day against their template with the promoted model (JSON)
evaluate  the thesis protocol on an AOL/CSV log or on the lake's sa_daily_features
"""
from __future__ import annotations

import argparse
import json
import logging
import sys


def _features_from_log(path: str, timezone: str, max_chars: int):
    """sa_daily_features rows for every day of a log file (no lake needed)."""
    from pathlib import Path

    import pandas as pd

    from transforms.search_auth.features import daily_features
    from transforms.search_auth.ingest import _read_aol, _read_table, _to_utc, AOL_SUFFIXES

    source = Path(path)
    table = _read_aol(source) if source.suffix.lower() in AOL_SUFFIXES else _read_table(source)
    table = table[~table["malformed"]]
    ts = _to_utc(table["ts_raw"], timezone)
    good = ts.notna() & table["user_id"].astype(str).str.strip().ne("") & table["query"].astype(str).str.strip().ne("")
    local = ts[good].dt.tz_convert(timezone)
    queries = pd.DataFrame({"user_id": table.loc[good, "user_id"].astype(str).str.strip(), "ts": ts[good],
                            "hour": local.dt.hour, "query": table.loc[good, "query"].astype(str).str.strip(),
                            "ds": local.dt.strftime("%Y-%m-%d")})
    frames = [daily_features(group).assign(ds=ds) for ds, group in queries.groupby("ds")]
    logging.info("log %s: %d queries, %d bad rows skipped", path, len(queries), int((~good).sum()))
    return pd.concat(frames, ignore_index=True)


def main(argv=None) -> int:
    from transforms.common import settings as settings_module
    from transforms.search_auth.settings import SearchAuthSettings

    parser = argparse.ArgumentParser(prog="search_auth", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score")
    score.add_argument("--user", required=True)
    score.add_argument("--ds", required=True)
    evaluate = sub.add_parser("evaluate")
    evaluate.add_argument("--log", help="AOL/CSV/Parquet file (default: the lake's sa_daily_features)")
    evaluate.add_argument("--first-day", required=True)
    evaluate.add_argument("--out", required=True, help="report folder")
    evaluate.add_argument("--min-active-days", type=int, default=0)
    evaluate.add_argument("--missing", choices=["skip", "zero"], default="skip")
    evaluate.add_argument("--trees", type=int, default=100)
    evaluate.add_argument("--dims", type=int, default=200)
    evaluate.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("transforms").setLevel(logging.INFO)
    settings = settings_module.load(SearchAuthSettings)
    if args.command == "score":
        from transforms.search_auth.training import score as score_day

        print(json.dumps(score_day(settings, args.user, args.ds), ensure_ascii=False, indent=1))
        return 0
    from transforms.search_auth import evaluation

    if args.log:
        features = _features_from_log(args.log, settings.sa_timezone, settings.sa_max_query_chars)
    else:
        from transforms.common.days import shift
        from transforms.search_auth.stages import read_features

        features = read_features(settings, args.first_day, shift(args.first_day, 90))
    protocol = evaluation.Protocol(min_active_days=args.min_active_days, missing=args.missing, trees=args.trees,
                                   doc2vec_dims=args.dims, doc2vec_epochs=args.epochs)
    result = evaluation.evaluate(features, args.first_day, protocol)
    files = evaluation.write_report(result, args.out)
    print(evaluation.thesis_table(result))
    print("report:", *files, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
