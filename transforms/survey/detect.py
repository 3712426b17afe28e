"""Service detection from a crawl's requests (and, as weaker evidence, the home page HTML).

Signatures are data (``data/signatures.yaml``): a site uses a service when one of its requests
goes to a signature host (or a subdomain of it) or matches a URL pattern. A snippet pattern found
only in the HTML (script never loaded, e.g. blocked by a consent manager) is reported as
``evidence_source = html``, separately from request evidence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from transforms.survey import schemas

MAX_EVIDENCE_URLS = 5


@dataclass(frozen=True)
class Signature:
    id: str
    name: str
    kind: str
    hosts: tuple[str, ...]
    url_patterns: tuple[re.Pattern, ...]
    snippet_patterns: tuple[re.Pattern, ...]
    policy_terms: tuple[str, ...]

    def matches_request(self, host: str, url: str) -> bool:
        return any(host == h or host.endswith("." + h) for h in self.hosts) or \
            any(p.search(url) for p in self.url_patterns)

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "kind": self.kind, "policy_terms": list(self.policy_terms)}


@dataclass(frozen=True)
class Signatures:
    version: str
    services: tuple[Signature, ...]

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.services]

    def by_id(self, service_id: str) -> Signature:
        return next(s for s in self.services if s.id == service_id)


def load_signatures(path: str | Path) -> Signatures:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    services = []
    for entry in doc["services"]:
        missing = {"id", "name", "kind", "hosts"} - entry.keys()
        if missing:
            raise ValueError(f"{path}: service {entry.get('id', '?')} lacks {sorted(missing)}")
        services.append(Signature(
            id=entry["id"], name=entry["name"], kind=entry["kind"],
            hosts=tuple(h.lower() for h in entry["hosts"]),
            url_patterns=tuple(re.compile(p, re.I) for p in entry.get("url_patterns") or []),
            snippet_patterns=tuple(re.compile(p, re.I) for p in entry.get("snippet_patterns") or []),
            policy_terms=tuple(entry.get("policy_terms") or [entry["name"]]),
        ))
    ids = [s.id for s in services]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate service ids")
    return Signatures(str(doc.get("version", "")), tuple(services))


def detect(visits: pd.DataFrame, requests: pd.DataFrame, pages: pd.DataFrame, signatures: Signatures) -> pd.DataFrame:
    """One row per successfully visited site × service (DETECTIONS schema, without crawl_id)."""
    ok = visits[visits["outcome"] == "ok"]
    visited = requests[requests["visit_id"].isin(ok["visit_id"])]
    pairs_by_visit = {visit_id: list(zip(group["host"].fillna(""), group["url"].fillna("")))
                      for visit_id, group in visited.groupby("visit_id")}
    html_by_visit = dict(zip(pages["visit_id"], pages["html"].fillna(""))) if len(pages) else {}
    rows = []
    for visit in ok.itertuples(index=False):
        pairs = pairs_by_visit.get(visit.visit_id, [])
        html = html_by_visit.get(visit.visit_id, "")
        for sig in signatures.services:
            urls = sorted({url for host, url in pairs if sig.matches_request(host, url)})
            snippet_hits = [m.group(0) for p in sig.snippet_patterns if (m := p.search(html))]
            source = "requests" if urls else ("html" if snippet_hits else "none")
            rows.append({
                "domain": visit.domain, "group": visit.group, "service_id": sig.id, "service_name": sig.name,
                "kind": sig.kind, "detected": source != "none", "evidence_source": source,
                "evidence_urls": urls[:MAX_EVIDENCE_URLS] if urls else snippet_hits[:MAX_EVIDENCE_URLS],
                "signatures_version": signatures.version,
            })
    return pd.DataFrame(rows, columns=schemas.DETECTIONS.schema.names)
