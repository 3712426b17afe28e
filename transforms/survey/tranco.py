"""Tranco list input: load a list (path or URL), record its provenance, select the sites to crawl.

Accepted formats: CSV ``rank,domain`` (the Tranco download, with or without a header) or one
domain per line in rank order. Lines that are not a domain are quarantined, not dropped.
"""
from __future__ import annotations

import hashlib
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
# Tranco ids are short alphanumerics; list files are usually named tranco_<ID>.csv
LIST_ID_RE = re.compile(r"(?i:tranco)[_-]([A-Z0-9]{4,6})(?![A-Za-z0-9])")


@dataclass
class TrancoList:
    sites: pd.DataFrame  # rank, domain
    sha256: str
    list_id: str
    source: str


MAX_RANK = 1_000_000_000  # Tranco lists hold at most a few million sites


def read_source(source: str) -> bytes:
    """Bytes of a local path, file:// URL or http(s) URL (the latter only when configured so)."""
    if re.match(r"^https?://", source):
        with urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310 (operator-configured)
            return response.read()
    if source.startswith("file://"):
        source = urllib.request.url2pathname(source[len("file://"):])
    return Path(source).read_bytes()


def parse(data: bytes, source: str, quarantine: Quarantine | None = None) -> TrancoList:
    quarantine = quarantine if quarantine is not None else Quarantine("tranco")
    rows, seen = [], set()
    next_rank = 1
    for line_no, line in enumerate(data.decode("utf-8-sig", errors="replace").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or line.lower() in {"rank,domain", "domain"}:
            continue
        rank_text, _, domain = line.rpartition(",")
        domain = domain.strip().lower().rstrip(".")
        if rank_text:
            rank_text = rank_text.strip()
            if not (rank_text.isascii() and rank_text.isdigit()):  # "²".isdigit() is True, int("²") fails
                quarantine.add(line, "rank is not an integer", f"{source}:{line_no}")
                continue
            rank = int(rank_text)
            if not 0 < rank <= MAX_RANK:
                quarantine.add(line, "rank out of range", f"{source}:{line_no}")
                continue
        else:
            rank = next_rank
        if not DOMAIN_RE.match(domain):
            quarantine.add(line, "not a domain name", f"{source}:{line_no}")
            continue
        if domain in seen:
            quarantine.add(line, "duplicate domain", f"{source}:{line_no}")
            continue
        seen.add(domain)
        rows.append((rank, domain))
        next_rank = rank + 1
    match = LIST_ID_RE.search(source)
    sites = pd.DataFrame(rows, columns=["rank", "domain"]).astype({"rank": "int64"}).sort_values("rank", kind="stable")
    return TrancoList(sites.reset_index(drop=True), hashlib.sha256(data).hexdigest(),
                      match.group(1) if match else "", source)


def load(source: str, quarantine: Quarantine | None = None) -> TrancoList:
    return parse(read_source(source), source, quarantine)


def group_of(domain: str) -> str:
    return "jp" if domain.endswith(".jp") else "other"


def select(tranco: TrancoList, top_n: int = 0, jp_within_top: int = 0, other_top: int = 0) -> pd.DataFrame:
    """Sites to crawl, as in the paper: every ``.jp`` site within the top M and the top K others.

    ``top_n`` first cuts the list to its top N; 0 for any limit means "no limit".
    """
    sites = tranco.sites.copy()
    if top_n:
        sites = sites.head(top_n)
    sites["group"] = sites["domain"].map(group_of)
    jp = sites[sites["group"] == "jp"]
    if jp_within_top:
        jp = jp[jp["rank"] <= jp_within_top]
    others = sites[sites["group"] == "other"]
    if other_top:
        others = others.head(other_top)
    chosen = pd.concat([jp, others]).sort_values("rank", kind="stable").reset_index(drop=True)
    return chosen.assign(list_sha256=tranco.sha256, list_id=tranco.list_id, list_source=tranco.source)


def batches(sites: pd.DataFrame, size: int) -> list[list[dict]]:
    """Rank-ordered batches of ``{rank, domain, group}`` for dynamic task mapping."""
    records = sites[["rank", "domain", "group"]].to_dict("records")
    records = [{"rank": int(r["rank"]), "domain": r["domain"], "group": r["group"]} for r in records]
    return [records[i:i + size] for i in range(0, len(records), max(size, 1))]
