"""Operator commands on the lake (``python -m transforms.common.lakectl --help``).

    resolve <path>       the published folder of a report path (reports are versioned folders)
    read <dataset> [--key ds] [--value V ...]   print a dataset's published rows (CSV)
    vacuum [prefix] [--grace-s S]               delete leftovers of killed or replaced writes
"""
from __future__ import annotations

import argparse
import logging
import sys

from transforms.common.contract import DatasetSpec
from transforms.common.settings import BaseSettings, load


def _spec(lake, dataset: str, key: str) -> DatasetSpec:
    """A types-only spec of ``dataset`` read from one of its published files."""
    import pyarrow.parquet as pq

    probe = DatasetSpec(dataset, [], key)
    values = lake.partitions(probe)
    if not values:
        raise SystemExit(f"{dataset}: no published partitions under {lake.uri}")
    folder = lake.partition_path(probe, values[-1])
    version = lake._pointer(folder, "_manifest.json")["version"]
    schema = pq.read_schema(f"{folder}/{version}/part-0.parquet", filesystem=lake.fs)
    return DatasetSpec(dataset, schema, key)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lakectl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    resolve = sub.add_parser("resolve")
    resolve.add_argument("path")
    read = sub.add_parser("read")
    read.add_argument("dataset")
    read.add_argument("--key", default="ds")
    read.add_argument("--value", action="append")
    vacuum = sub.add_parser("vacuum")
    vacuum.add_argument("prefix", nargs="?", default="")
    vacuum.add_argument("--grace-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    lake = load(BaseSettings).lake
    if args.command == "resolve":
        folder = lake.current_dir(args.path)
        if folder is None:
            print(f"nothing published at {args.path}", file=sys.stderr)
            return 1
        print(folder)
    elif args.command == "read":
        lake.read(_spec(lake, args.dataset, args.key), args.value).to_csv(sys.stdout, index=False)
    else:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        print(lake.vacuum(args.prefix, args.grace_s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
