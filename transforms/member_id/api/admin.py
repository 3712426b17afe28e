"""Operator commands: ``python -m transforms.member_id.api.admin create-key NAME [--rate N] [--admin]``,
``... usage`` (per-key counts) and ``... purge [--days D]`` (erase raw ip / time / User-Agent of
requests finished over D days ago, default ``mid_api_retention_days``; the API's workers also do it hourly)."""
import argparse
import json

from transforms.common.settings import load
from transforms.member_id.api import db
from transforms.member_id.settings import MemberIdSettings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="member_id_api_admin")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-key")
    create.add_argument("name")
    create.add_argument("--rate", type=int, default=load(MemberIdSettings).mid_api_rate_per_minute)
    create.add_argument("--admin", action="store_true")
    sub.add_parser("usage")
    purge = sub.add_parser("purge")
    purge.add_argument("--days", type=float, default=load(MemberIdSettings).mid_api_retention_days)
    args = parser.parse_args(argv)
    engine = db.connect(load(MemberIdSettings).mid_api_db_url)
    if args.command == "create-key":
        print(db.create_key(engine, args.name, args.rate, args.admin))
    elif args.command == "purge":
        print(f"purged {db.purge_raw(engine, args.days * 86400.0)} requests")
    else:
        print(json.dumps(db.usage(engine), indent=1))


if __name__ == "__main__":
    main()
