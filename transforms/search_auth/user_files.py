"""Per-user query-log files → one AOL-format log (for evaluating on real, published logs).

Some public excerpts of the AOL 2006 log (e.g. the 1,000 users with the most clicked queries in
github.com/wasiahmad/aol_query_log_analysis, folder ``user_search_logs/``) keep one file per
user, named ``<AnonID>.txt``, with blocks separated by a blank line::

    query<TAB>YYYY-MM-DD HH:MM:SS
    http://clicked.domain/          (0..n lines: the clicked result URLs)

This writes the AOL layout the ingest reads (``AnonID Query QueryTime ItemRank ClickURL``; one
line per click, as AOL does, the rank being unknown; a query without a click gets one line).
A block that does not parse is written as it is, so the ingest quarantines it with a reason.
Usage: ``python -m transforms.search_auth.user_files FOLDER OUT.txt``
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from transforms.search_auth.ingest import AOL_HEADER_LINE

_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def convert(folder: str, out: str) -> dict:
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix == ".txt")
    lines = queries = odd = 0
    with open(out, "w", encoding="utf-8") as sink:
        sink.write(AOL_HEADER_LINE)
        for path in files:
            user = path.stem
            text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
            for block in text.split("\n\n"):
                rows = [r for r in block.split("\n") if r.strip()]
                if not rows:
                    continue
                head = rows[0].rsplit("\t", 1)
                if len(head) != 2 or not _STAMP.match(head[1].strip()):
                    odd += 1
                    sink.write(f"{user}\t{rows[0]}\n")  # quarantined by the ingest (bad time / malformed)
                    lines += 1
                    continue
                query, stamp = head[0].replace("\t", " "), head[1].strip()
                queries += 1
                clicks = rows[1:] or [""]
                for url in clicks:
                    sink.write(f"{user}\t{query}\t{stamp}\t\t{url.strip()}\n")
                    lines += 1
    return {"users": len(files), "queries": queries, "lines": lines, "unparsed_blocks": odd, "out": out}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("out")
    args = parser.parse_args(argv)
    print(convert(args.folder, args.out))


if __name__ == "__main__":
    main()
