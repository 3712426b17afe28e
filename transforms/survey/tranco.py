"""Tranco list input: load a list (path or URL), record its provenance, select the sites to crawl.

Accepted formats: CSV ``rank,domain`` (the Tranco download, with or without a header) or one
domain per line in rank order, plain or as a ``.zip`` archive holding one CSV (Tranco's
``tranco_<ID>-1m.csv.zip`` and ``top-1m.csv.zip``). Lines that are not a domain are quarantined,
not dropped. A list from which no site can be read, an HTML page, a broken archive, or a file
whose lines are mostly not sites (at least 50 of them) is an error (:class:`UnreadableList`),
never an empty crawl.

Sources and the list id recorded with them (tranco-list.eu's URL forms):

* ``latest`` / ``tranco:latest``: the id from ``<base>/top-1m-id``, then ``<base>/download/<ID>/1000000``;
* ``tranco:<ID>``: ``<base>/download/<ID>/1000000``;
* ``https://tranco-list.eu/download/<ID>/<N>`` (the README's form) and ``…/list/<ID>/<N>``
  (the list's web page, rewritten to its download URL): id from the path;
* ``https://tranco-list.eu/top-1m.csv.zip`` (the daily "latest" archive): id from ``<base>/top-1m-id``;
* files or URLs named ``tranco_<ID>…``: id from the name.

``<base>`` is ``https://tranco-list.eu`` (``TRACKSCOPE_TRANCO_BASE_URL`` overrides it).
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
# Tranco ids are short alphanumerics; list files are usually named tranco_<ID>.csv
LIST_ID_RE = re.compile(r"(?i:tranco)[_-]([A-Z0-9]{4,6})(?![A-Za-z0-9])")
URL_ID_RE = re.compile(r"^https?://[^/]+/(download|list)/([A-Z0-9]{4,6})(?:/([a-z0-9]+))?/?$", re.I)
DEFAULT_BASE = "https://tranco-list.eu"
MIN_READABLE_SHARE = 0.5  # a list whose lines are mostly not sites (and at least MIN_BAD_LINES) is an error
MIN_BAD_LINES = 50
log = logging.getLogger(__name__)


class UnreadableList(ValueError):
    """The configured list yields no sites (or mostly garbage): the crawl must not start."""


def base_url() -> str:
    return os.environ.get("TRACKSCOPE_TRANCO_BASE_URL", DEFAULT_BASE).rstrip("/")


def resolve(source: str, fetch=None) -> tuple[str, str]:
    """(URL or path to read, list id) of a configured source; see the module docstring."""
    fetch = fetch or read_source
    base = base_url()
    text = source.strip()
    if text.lower() in ("latest", "tranco:latest"):
        list_id = _latest_id(base, fetch)
        if not list_id:
            raise UnreadableList(f"could not learn the latest Tranco list id from {base}/top-1m-id")
        return f"{base}/download/{list_id}/1000000", list_id
    if text.lower().startswith("tranco:"):
        list_id = text.split(":", 1)[1].strip().upper()
        if not re.fullmatch(r"[A-Z0-9]{4,6}", list_id):
            raise UnreadableList(f"not a Tranco list id: {list_id!r}")
        return f"{base}/download/{list_id}/1000000", list_id
    match = URL_ID_RE.match(text)
    if match:
        kind, list_id, size = match.groups()
        if kind.lower() == "list":  # the list's web page: read its CSV download instead
            origin = text.split("/list/")[0]
            text = f"{origin}/download/{list_id}/{size or '1000000'}"
        return text, list_id
    named = LIST_ID_RE.search(text.rsplit("/", 1)[-1])
    if named:
        return text, named.group(1)
    if re.match(r"^https?://", text) and text.rstrip("/").endswith("top-1m.csv.zip"):
        origin = re.match(r"^https?://[^/]+", text).group(0)
        list_id = _latest_id(origin, fetch)
        if not list_id:
            log.warning("list id of %s unknown (%s/top-1m-id unreadable); only its sha256 is recorded", text, origin)
        return text, list_id
    return text, ""


def _latest_id(base: str, fetch) -> str:
    try:
        value = fetch(f"{base}/top-1m-id").decode("utf-8", "replace").strip()
    except OSError as exc:
        log.warning("latest Tranco id unavailable: %s", exc)
        return ""
    return value if re.fullmatch(r"[A-Z0-9]{4,6}", value) else ""


def unpack(data: bytes, source: str) -> bytes:
    """The CSV inside a ``.zip`` list; other data unchanged."""
    if not data.startswith(b"PK\x03\x04"):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            csvs = [m for m in members if m.lower().endswith((".csv", ".txt"))] or members
            if len(csvs) != 1:
                raise UnreadableList(f"{source}: expected one list in the archive, found {members}")
            return archive.read(csvs[0])
    except zipfile.BadZipFile as exc:
        raise UnreadableList(f"{source}: broken zip archive: {exc}") from exc


@dataclass
class TrancoList:
    sites: pd.DataFrame  # rank, domain
    sha256: str
    list_id: str
    source: str
    bad_lines: int = 0
    shared_ranks: int = 0  # sites whose rank another site also has (both kept, noted in the log)


MAX_RANK = 1_000_000_000  # Tranco lists hold at most a few million sites


def read_source(source: str) -> bytes:
    """Bytes of a local path, file:// URL or http(s) URL (the latter only when configured so)."""
    if re.match(r"^https?://", source):
        with urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310 (operator-configured)
            return response.read()
    if source.startswith("file://"):
        source = urllib.request.url2pathname(source[len("file://"):])
    return Path(source).read_bytes()


def parse(data: bytes, source: str, quarantine: Quarantine | None = None, list_id: str | None = None) -> TrancoList:
    quarantine = quarantine if quarantine is not None else Quarantine("tranco")
    """Sites of a list's text; never raises: every line is a site or quarantined with its reason
    (whether the result is usable is :func:`load`'s decision)."""
    rows, seen = [], set()
    bad = 0
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
                quarantine.add(line[:200], "rank is not an integer", f"{source}:{line_no}")
                bad += 1
                continue
            rank = int(rank_text)
            if not 0 < rank <= MAX_RANK:
                quarantine.add(line[:200], "rank out of range", f"{source}:{line_no}")
                bad += 1
                continue
        else:
            rank = next_rank
        if not DOMAIN_RE.match(domain):
            quarantine.add(line[:200], "not a domain name", f"{source}:{line_no}")
            bad += 1
            continue
        if domain in seen:
            quarantine.add(line, "duplicate domain", f"{source}:{line_no}")
            continue
        seen.add(domain)
        rows.append((rank, domain))
        next_rank = rank + 1
    if list_id is None:
        match = LIST_ID_RE.search(source)
        list_id = match.group(1) if match else ""
    sites = pd.DataFrame(rows, columns=["rank", "domain"]).astype({"rank": "int64"}).sort_values("rank", kind="stable")
    shared = int(sites["rank"].duplicated(keep=False).sum())
    if shared:
        log.warning("%s: %d sites share a rank with another site (kept; a list has one site per rank)", source, shared)
    return TrancoList(sites.reset_index(drop=True), hashlib.sha256(data).hexdigest(), list_id, source, bad, shared)


def load(source: str, quarantine: Quarantine | None = None) -> TrancoList:
    location, list_id = resolve(source)
    try:
        raw_bytes = read_source(location)
    except OSError as exc:
        raise UnreadableList(f"cannot read the Tranco list {location}: {exc}") from exc
    data = unpack(raw_bytes, location)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].lower().startswith((b"<!doctype", b"<html", b"<?xml")):
        raise UnreadableList(f"{location}: an HTML/XML page, not a Tranco list (a /list/ page? use its download URL)")
    quarantine = quarantine if quarantine is not None else Quarantine("tranco")
    listing = parse(data, location, quarantine, list_id)
    listing.sha256 = hashlib.sha256(raw_bytes).hexdigest()  # the file as downloaded (zip or csv)
    good, bad = len(listing.sites), listing.bad_lines
    if not good or (bad >= MIN_BAD_LINES and bad > MIN_READABLE_SHARE * (bad + good)):
        raise UnreadableList(f"{location}: {good} sites read, {bad} lines are not 'rank,domain' or a domain "
                             f"(first: {next(iter(quarantine.counts()), '-')}); is it a Tranco list?")
    return listing


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
