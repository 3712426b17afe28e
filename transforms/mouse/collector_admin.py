"""Operator commands for the collector's sites (stored in the configured lake):

``python -m transforms.mouse.collector_admin issue-token SITE --origin https://shop.example [--origin ...]``
prints a new write token for SITE once (replacing its previous token); ``revoke SITE``; ``list``
(sites and origins, never tokens)."""
import argparse
import json

from transforms.common.settings import load
from transforms.mouse import collector
from transforms.mouse.settings import MouseSettings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="mouse_collector_admin")
    sub = parser.add_subparsers(dest="command", required=True)
    issue = sub.add_parser("issue-token")
    issue.add_argument("site")
    issue.add_argument("--origin", action="append", default=[], help="allowed browser origin (repeatable)")
    sub.add_parser("revoke").add_argument("site")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    lake = load(MouseSettings).lake
    if args.command == "issue-token":
        print(collector.issue_token(lake, args.site, args.origin))
    elif args.command == "revoke":
        if not collector.revoke(lake, args.site):
            raise SystemExit(f"no site {args.site}")
    else:
        sites = collector.read_sites(lake)
        print(json.dumps({site: {"origins": entry["origins"], "issued_at": entry["issued_at"]}
                          for site, entry in sites.items()}, indent=1))


if __name__ == "__main__":
    main()
