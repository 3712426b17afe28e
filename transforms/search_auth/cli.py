"""Command line: ``python -m transforms.search_auth.cli {score,evaluate,generate}``.

score     a user's day against their template with the promoted model (JSON)
evaluate  the thesis protocol on an AOL/CSV log or on the lake's sa_daily_features
"""
from __future__ import annotations

import argparse
import json
import logging
import sys


def limit_users(spec: str | None, features):
    """``--users``: a file with one user id per line, or a count (the N most active users)."""
    from pathlib import Path

    if not spec:
        return features
    if Path(spec).is_file():
        wanted = {line.strip() for line in Path(spec).read_text().splitlines() if line.strip()}
        missing = wanted - set(features["user_id"])
        if missing:
            print(f"--users: {len(missing)} of {len(wanted)} listed users have no query in the log")
    elif spec.isdigit():
        days = features.groupby("user_id")["ds"].nunique()
        wanted = set(days.sort_values(ascending=False, kind="stable").index[:int(spec)])
    else:
        raise SystemExit(f"--users {spec}: neither a file nor a number")
    return features[features["user_id"].isin(wanted)]


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
    evaluate.add_argument("--first-day", help="first of the protocol's 91 days (default: the log's first day)")
    evaluate.add_argument("--out", required=True, help="report folder")
    evaluate.add_argument("--users", help="file with one user id per line, or N (the N most active users)")
    evaluate.add_argument("--min-active-days", type=int, default=None,
                          help="active days each user needs in each period (default: the sa_min_active_days setting)")
    evaluate.add_argument("--missing", choices=["skip", "zero"], default="skip")
    evaluate.add_argument("--methods", default="thesis,extended,sparse", help="comma-separated: thesis,extended,sparse")
    evaluate.add_argument("--sparse-threshold", type=float, default=None)
    evaluate.add_argument("--no-progress", action="store_true")
    evaluate.add_argument("--trees", type=int, default=100)
    evaluate.add_argument("--dims", type=int, default=200)
    evaluate.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("transforms").setLevel(logging.INFO)
    logging.getLogger("transforms.search_auth.features").setLevel(logging.WARNING)  # one line per day otherwise
    settings = settings_module.load(SearchAuthSettings)
    if args.command == "score":
        from transforms.search_auth.training import score as score_day

        print(json.dumps(score_day(settings, args.user, args.ds), ensure_ascii=False, indent=1))
        return 0
    from transforms.search_auth import evaluation

    if args.log:
        from pathlib import Path

        from transforms.search_auth.features import describe_counts, features_from_log

        features, counts, quarantine = features_from_log(args.log, settings.sa_timezone, settings.sa_max_query_chars,
                                                         progress=not args.no_progress)
        print(f"{args.log}: {describe_counts(counts)}")
        if quarantine.rows:
            import pandas as pd

            Path(args.out).mkdir(parents=True, exist_ok=True)
            pd.DataFrame(quarantine.rows).to_csv(Path(args.out) / "quarantine.csv", index=False)
        first_day = args.first_day or str(features["ds"].min())
    else:
        from transforms.common.days import shift
        from transforms.search_auth.stages import read_features

        if not args.first_day:
            raise SystemExit("--first-day is needed without --log")
        first_day = args.first_day
        features = read_features(settings, first_day, shift(first_day, 90))
    features = limit_users(args.users, features)
    min_days = settings.sa_min_active_days if args.min_active_days is None else args.min_active_days
    names = {"thesis": evaluation.THESIS, "extended": evaluation.EXTENDED, "sparse": evaluation.SPARSE}
    options = dict(min_active_days=min_days, missing=args.missing, trees=args.trees, doc2vec_dims=args.dims,
                   doc2vec_epochs=args.epochs, methods=tuple(names[m.strip()] for m in args.methods.split(",")))
    if args.sparse_threshold is not None:
        options["sparse_threshold"] = args.sparse_threshold
    protocol = evaluation.Protocol(**options)
    print(f"protocol from {first_day}: {features['user_id'].nunique()} users in the log, "
          f"min active days per period {max(min_days, 1)}, missing days: {args.missing}")
    result = evaluation.evaluate(features, first_day, protocol, progress=not args.no_progress)
    files = evaluation.write_report(result, args.out)
    print(evaluation.thesis_table(result))
    print("report:", *files, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
