"""Rebuild the real-policy evaluation set (/work/data/policy) from fetched public repositories, offline.

    python bench/policy_corpus.py [--mirror /work/.mirror] [--out /work/data/policy]

The policies are site operators' texts and are not committed; what is committed is where each one
is (``bench/data/policy_sources.csv``: repository, commit, path) and our own labels
(``bench/data/policy_labels.csv``). This script reads every source with ``git show
<commit>:<path>`` from the snapshots the search tool's ``fetch`` put under ``--mirror``
(``<owner>+<name>/repo``), turns it into the text a reader of the page sees (Markdown rendered,
HTML / PHP / JSX tags dropped, OPP-115's ``|||`` segment marks removed) and writes the layout
``bench/policy_disclosure.py`` reads: ``labels.csv``, ``policies.csv`` and ``policies/<id>.txt``.
A missing snapshot or file stops the run with the fetch it needs (nothing is downloaded here).

``seen_in_development`` marks the policies that the classifier's tests quote or paraphrase (its
rules were written with them in view); the bench reports the pairs of the other policies apart.

The tune / report split is fixed by policy: ``split_of(policy_id)`` (a hash, ~40 % tune); linked
pages (``linked_from``) go with their parent policy.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[1]
SOURCES = REPO / "bench/data/policy_sources.csv"
LABELS = REPO / "bench/data/policy_labels.csv"
TUNE_SHARE = 40  # percent of policies in the tune split


def split_of(policy_id: str) -> str:
    bucket = int(hashlib.sha256(policy_id.encode("utf-8")).hexdigest(), 16) % 100
    return "tune" if bucket < TUNE_SHARE else "report"


class _Text(HTMLParser):
    """Visible text of an HTML fragment: block elements start new lines, scripts and styles are dropped."""

    BLOCKS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
              "article", "br", "dt", "dd", "blockquote", "pre", "hr", "header", "footer", "main", "td", "th"}
    HIDDEN = {"script", "style", "head", "noscript", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)\n.*?\n\1\n", re.S)
_MDX_LINES = re.compile(r"^\s*(import|export)\s.*$", re.M)
_TEMPLATE = re.compile(r"\{%.*?%\}|\{\{<.*?>\}\}|\{\{.*?\}\}|\{:[^}]*\}", re.S)
_PHP = re.compile(r"<\?php.*?\?>", re.S)
_JSX_EXPR = re.compile(r"\{/\*.*?\*/\}|\{['\"`]\s*['\"`]\}|className=\{[^}]*\}", re.S)


def page_text(raw: str, fmt: str) -> str:
    """What a reader of the rendered page sees, from its source file."""
    if fmt in ("md", "mdx"):
        body = _TEMPLATE.sub(" ", _FRONT_MATTER.sub("", raw.replace("\r\n", "\n")))
        if fmt == "mdx":
            body = _MDX_LINES.sub("", body)
        return html_text(MarkdownIt("commonmark", {"html": True}).enable("table").render(body))
    if fmt == "opp115":  # OPP-115 sanitized policy: HTML with "|||" between annotated segments
        return html_text(raw.replace("|||", "\n"))
    # html, php / blade templates, JSX / TSX pages: the markup's text
    return html_text(_JSX_EXPR.sub(" ", _TEMPLATE.sub(" ", _PHP.sub(" ", raw))))


def git_dir(mirror: Path, repo: str) -> Path:
    root = mirror / repo.replace("/", "+") / "repo"
    return root / ".git" if (root / ".git").is_dir() else root


def read_source(mirror: Path, row: dict) -> str:
    gd = git_dir(mirror, row["repo"])
    if not gd.is_dir():
        sys.exit(f"{row['policy_id']}: no snapshot of {row['repo']} under {mirror}; fetch github:{row['repo']} first")
    out = subprocess.run(["git", "--git-dir", str(gd), "show", f"{row['commit']}:{row['path']}"],
                         capture_output=True, check=False)
    if out.returncode:
        sys.exit(f"{row['policy_id']}: {row['repo']}@{row['commit']}:{row['path']} not in the snapshot "
                 f"({out.stderr.decode(errors='replace').strip()})")
    return out.stdout.decode("utf-8", errors="replace")


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def build(mirror: Path, out: Path) -> tuple[int, int]:
    sources = read_csv(SOURCES)
    labels = read_csv(LABELS)
    by_id = {row["policy_id"]: row for row in sources}
    for row in sources:
        parent = row["linked_from"] or row["policy_id"]
        if row["split"] != split_of(parent):
            sys.exit(f"{row['policy_id']}: split {row['split']} is not the fixed split {split_of(parent)}")
    (out / "policies").mkdir(parents=True, exist_ok=True)
    for row in sources:
        text = page_text(read_source(mirror, row), row["format"])
        (out / "policies" / f"{row['policy_id']}.txt").write_text(text + "\n", encoding="utf-8")
    with (out / "policies.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "url", "linked_from", "language", "seen_in_development", "source"])
        for row in sources:
            writer.writerow([row["policy_id"], row["url"], row["linked_from"], row["language"],
                             row["seen_in_development"], f"{row['repo']}@{row['commit']}:{row['path']}"])
    with (out / "labels.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["pair_id", "policy_id", "service_id", "label", "split"])
        for row in labels:
            if row["policy_id"] not in by_id or by_id[row["policy_id"]]["linked_from"]:
                sys.exit(f"{row['pair_id']}: {row['policy_id']} is not a top-level policy of {SOURCES.name}")
            writer.writerow([row["pair_id"], row["policy_id"], row["service_id"], row["label"],
                             by_id[row["policy_id"]]["split"]])
    return len(sources), len(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, default=Path("/work/data/policy"))
    args = parser.parse_args()
    pages, pairs = build(args.mirror, args.out)
    print(f"wrote {pages} policy pages and {pairs} labelled pairs to {args.out}")


if __name__ == "__main__":
    main()
