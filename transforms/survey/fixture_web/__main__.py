"""``python -m transforms.survey.fixture_web`` serves the fixture web until Ctrl-C and prints the
Chromium flags; ``--write`` regenerates ground_truth.json and tranco_fixture.csv from sites.py."""
from __future__ import annotations

import argparse
import os
import shlex
import time

from transforms.survey.fixture_web import sites
from transforms.survey.fixture_web.server import FixtureWeb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transforms.survey.fixture_web")
    parser.add_argument("--write", action="store_true", help="regenerate ground_truth.json and tranco_fixture.csv")
    parser.add_argument("--rules-file", help="write the --host-resolver-rules value here once serving")
    args = parser.parse_args(argv)
    if args.write:
        sites.check_sites()
        sites.write_files()
        print(f"wrote {sites.GROUND_TRUTH_PATH} and {sites.TRANCO_FIXTURE_PATH} ({len(sites.SITES)} sites)")
        return 0
    with FixtureWeb() as web:
        print(f"fixture web on 127.0.0.1:{web.port} ({len(sites.SITES)} sites)")
        print("chromium flags:", " ".join(shlex.quote(a) for a in web.chromium_args()), flush=True)
        if args.rules_file:  # scripts wait for this file before starting the crawl
            with open(args.rules_file + ".tmp", "w") as out:
                out.write(web.host_resolver_rules)
            os.replace(args.rules_file + ".tmp", args.rules_file)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
