"""Service detection from a crawl's requests (and, as weaker evidence, page globals and HTML).

Signatures are data (``data/signatures.yaml``, versioned, with a changelog). Per service:

* ``hosts``: a request to the host or any subdomain of it;
* ``agent_paths``: regular expressions on a request URL's path and query that identify the
  vendor's agent **on any host** (first-party served or CDN-mirrored agents, e.g.
  ``/ruxitagentjs_<flags>_<version>.js`` for Dynatrace, ``/npm/yandex-metrica-watch/tag.js``);
* ``globals``: window globals the running agent defines (recorded by the crawler after the
  dwell, ``survey_pages.js_globals``);
* ``snippet_patterns``: regular expressions over the home page HTML.

Evidence kinds, strongest first (``EVIDENCE_RANK``): ``requests`` (a request reached a vendor
host) > ``agent_path`` (the vendor's agent was requested from another host) > ``global`` (the
agent's global exists in the page) > ``html`` (snippet only: the script was never seen loading,
e.g. blocked by a consent manager or commented out). A row carries its strongest evidence;
adoption counts only ``requests`` and ``agent_path`` (``ADOPTION_EVIDENCE``).

Every visit is analysed whatever its outcome: a visit that timed out or crashed keeps the
requests captured before that. The report keeps failed visits out of its denominators and lists
their detections separately.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import yaml

from transforms.survey import schemas

MAX_EVIDENCE_URLS = 5
EVIDENCE_SOURCES = list(schemas.EVIDENCE_SOURCES)  # strongest first; "none" last
EVIDENCE_RANK = {source: rank for rank, source in enumerate(EVIDENCE_SOURCES[:-1], start=1)}
ADOPTION_EVIDENCE = ("requests", "agent_path")
REQUIRED = {"id", "name", "kind", "hosts"}
KNOWN_FIELDS = REQUIRED | {"vendor", "agent_paths", "url_patterns", "snippet_patterns", "globals", "policy_terms",
                           "docs", "notes", "parent"}
GLOBAL_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")


def path_and_query(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Signature:
    id: str
    name: str
    kind: str
    hosts: tuple[str, ...]
    agent_paths: tuple[re.Pattern, ...]
    url_patterns: tuple[re.Pattern, ...]
    snippet_patterns: tuple[re.Pattern, ...]
    globals: tuple[str, ...]
    policy_terms: tuple[str, ...]
    vendor: str = ""

    def matches_host(self, host: str) -> bool:
        return any(host == h or host.endswith("." + h) for h in self.hosts)

    def request_evidence(self, host: str, url: str) -> str | None:
        """``requests``, ``agent_path`` or None for one request."""
        if self.matches_host(host) or any(p.search(url) for p in self.url_patterns):
            return "requests"
        if self.agent_paths:
            tail = path_and_query(url)
            if any(p.search(tail) for p in self.agent_paths):
                return "agent_path"
        return None

    def matches_request(self, host: str, url: str) -> bool:
        return self.request_evidence(host, url) is not None

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "kind": self.kind, "policy_terms": list(self.policy_terms)}


@dataclass(frozen=True)
class Signatures:
    version: str
    services: tuple[Signature, ...]
    changelog: tuple[dict, ...] = ()

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.services]

    @property
    def all_globals(self) -> list[str]:
        return sorted({g for s in self.services for g in s.globals})

    def by_id(self, service_id: str) -> Signature:
        return next(s for s in self.services if s.id == service_id)


def load_signatures(path: str | Path) -> Signatures:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    version = str(doc.get("version") or "")
    if not version:
        raise ValueError(f"{path}: no version")
    changelog = tuple(doc.get("changelog") or ())
    if changelog and str(changelog[0].get("version")) != version:
        raise ValueError(f"{path}: version {version} has no changelog entry (first entry is {changelog[0].get('version')})")
    services = []
    for entry in doc["services"]:
        missing = REQUIRED - entry.keys()
        if missing:
            raise ValueError(f"{path}: service {entry.get('id', '?')} lacks {sorted(missing)}")
        unknown = set(entry) - KNOWN_FIELDS
        if unknown:
            raise ValueError(f"{path}: service {entry['id']} has unknown fields {sorted(unknown)}")
        bad_globals = [g for g in entry.get("globals") or [] if not GLOBAL_RE.match(g)]
        if bad_globals:
            raise ValueError(f"{path}: service {entry['id']} has invalid globals {bad_globals}")
        services.append(Signature(
            id=entry["id"], name=entry["name"], kind=entry["kind"],
            hosts=tuple(h.lower() for h in entry["hosts"]),
            agent_paths=tuple(re.compile(p, re.I) for p in entry.get("agent_paths") or []),
            url_patterns=tuple(re.compile(p, re.I) for p in entry.get("url_patterns") or []),
            snippet_patterns=tuple(re.compile(p, re.I) for p in entry.get("snippet_patterns") or []),
            globals=tuple(entry.get("globals") or []),
            policy_terms=tuple(entry.get("policy_terms") or [entry["name"]]),
            vendor=entry.get("vendor", ""),
        ))
    ids = [s.id for s in services]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate service ids")
    return Signatures(version, tuple(services), changelog)


def _listify(value) -> list:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [str(v) for v in list(value)]


def detect_visit(pairs: list[tuple[str, str]], html: str, js_globals: set[str], sig: Signature) -> tuple[str, list[str]]:
    """(strongest evidence kind, evidence) of one service on one visit."""
    by_kind: dict[str, set[str]] = {}
    for host, url in pairs:
        kind = sig.request_evidence(host, url)
        if kind:
            by_kind.setdefault(kind, set()).add(url)
    for kind in ADOPTION_EVIDENCE:
        if by_kind.get(kind):
            return kind, sorted(by_kind[kind])[:MAX_EVIDENCE_URLS]
    found_globals = [f"window.{g}" for g in sig.globals if g in js_globals]
    if found_globals:
        return "global", found_globals[:MAX_EVIDENCE_URLS]
    snippet_hits = [m.group(0) for p in sig.snippet_patterns if (m := p.search(html))]
    if snippet_hits:
        return "html", snippet_hits[:MAX_EVIDENCE_URLS]
    return "none", []


def detect(visits: pd.DataFrame, requests: pd.DataFrame, pages: pd.DataFrame, signatures: Signatures) -> pd.DataFrame:
    """One row per visited site × service (DETECTIONS schema, without crawl_id), for every visit
    whatever its outcome (the requests captured before a timeout count)."""
    pairs_by_visit = {visit_id: list(zip(group["host"].fillna(""), group["url"].fillna("")))
                      for visit_id, group in requests.groupby("visit_id")}
    html_by_visit = dict(zip(pages["visit_id"], pages["html"].fillna(""))) if len(pages) else {}
    globals_by_visit = ({v: set(_listify(g)) for v, g in zip(pages["visit_id"], pages["js_globals"])}
                        if len(pages) and "js_globals" in pages else {})
    rows = []
    for visit in visits.drop_duplicates("visit_id").itertuples(index=False):
        pairs = pairs_by_visit.get(visit.visit_id, [])
        html = html_by_visit.get(visit.visit_id, "")
        js_globals = globals_by_visit.get(visit.visit_id, set())
        for sig in signatures.services:
            source, evidence = detect_visit(pairs, html, js_globals, sig)
            rows.append({
                "domain": visit.domain, "group": visit.group, "service_id": sig.id, "service_name": sig.name,
                "kind": sig.kind, "detected": source != "none", "evidence_source": source,
                "evidence_urls": evidence, "signatures_version": signatures.version,
            })
    return pd.DataFrame(rows, columns=schemas.DETECTIONS.schema.names)
