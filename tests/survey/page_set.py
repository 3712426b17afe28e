"""The vendor-snippet page set (``tests/survey/data/pages/pages.yaml``): serve it on loopback,
crawl it with the project's crawler, analyse it with the project's extraction and detection,
and score detection against each page's expected services.

``python -m tests.survey.page_set --record`` crawls the set in headless Chromium and rewrites
``recorded_requests.json`` (the request URLs and signature globals Chromium saw per page), which
the fast test re-analyses without a browser.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.loopback import LoopbackServer, QuietHandler  # noqa: E402
from transforms.common.quarantine import Quarantine  # noqa: E402
from transforms.survey import extract  # noqa: E402
from transforms.survey.detect import ADOPTION_EVIDENCE, detect, load_signatures  # noqa: E402
from transforms.survey.domains import host_of  # noqa: E402

DATA = Path(__file__).with_name("data") / "pages"
MANIFEST = DATA / "pages.yaml"
RECORDED = DATA / "recorded_requests.json"
SIGNATURES = REPO / "transforms/survey/data/signatures.yaml"
SUFFIX = ".pages.test"


def load_pages() -> list[dict]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["pages"]


def domain_of(page: dict) -> str:
    return f"{page['id']}{SUFFIX}"


def page_html(page: dict) -> str:
    body = page["html"].replace("{host}", domain_of(page))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{page['id']}</title></head>"
            f"<body><h1>{page['id']}</h1>\n{body}</body></html>")


class PageWeb(LoopbackServer):
    """Every host on one loopback port: a page's host answers ``/`` with the page, any other
    path (vendor agents, first-party agents, images) with an empty stub of the right type."""

    def __init__(self, pages: list[dict]):
        by_host = {domain_of(p): page_html(p) for p in pages}
        self.hits: list[tuple[str, str]] = []
        web = self

        class Handler(QuietHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self._send(b"", "text/plain", 204)

            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0]
                path = self.path.split("?")[0]
                web.hits.append((host, self.path))
                site = host[4:] if host.startswith("www.") else host
                if path == "/" and site in by_host:
                    return self._send(by_host[site].encode(), "text/html; charset=utf-8")
                if path.endswith((".png", ".gif", ".jpg")):
                    return self._send(b"", "image/gif", 204)
                if path.endswith(".css"):
                    return self._send(b"", "text/css")
                if path.endswith(".html"):
                    return self._send(b"<html><body></body></html>", "text/html")
                return self._send(b"/* stub agent */", "application/javascript")

        super().__init__(Handler)
        self.host_resolver_rules = f"MAP * 127.0.0.1:{self.port}"


def crawl_pages(lake_dir: Path, browsers: int = 2) -> list[dict]:
    """Crawl every page with the project's crawler; returns the raw visit documents."""
    from transforms.common import settings as settings_mod
    from transforms.survey import crawler, raw

    pages = load_pages()
    with PageWeb(pages) as web:
        settings = settings_mod.Settings(lake_uri=lake_dir.as_uri(), page_load_timeout_s=10.0, dwell_s=1.0,
                                         visit_retries=1, browsers_per_task=browsers,
                                         host_resolver_rules=web.host_resolver_rules)
        sites = [{"rank": i + 1, "domain": domain_of(p), "group": "other"} for i, p in enumerate(pages)]
        crawler.crawl_batch(settings, "pages", sites)
        return list(raw.read_visits(settings.lake, "pages"))


def frames_from_docs(docs: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    quarantine = Quarantine("page_set")
    visits, requests, pages = [], [], []
    for doc in docs:
        rows = extract.requests_from_cdp(doc, quarantine)
        requests.extend(rows)
        visits.append(extract.visit_row(doc, len(rows)))
        pages.append(extract.page_row(doc))
    return (pd.DataFrame(visits), pd.DataFrame(requests, columns=["visit_id", "host", "url"]), pd.DataFrame(pages))


def frames_from_recording(recorded: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Frames from ``recorded_requests.json`` and the manifest's HTML (not the rendered DOM)."""
    by_id = {p["id"]: p for p in load_pages()}
    visits, requests, pages = [], [], []
    for page_id, seen in recorded["pages"].items():
        domain = domain_of(by_id[page_id])
        visit_id = f"pages:{domain}"
        visits.append({"visit_id": visit_id, "domain": domain, "group": "other", "outcome": seen["outcome"]})
        requests.extend({"visit_id": visit_id, "host": host_of(url), "url": url} for url in seen["urls"])
        pages.append({"visit_id": visit_id, "html": page_html(by_id[page_id]), "js_globals": seen["js_globals"]})
    return pd.DataFrame(visits), pd.DataFrame(requests, columns=["visit_id", "host", "url"]), pd.DataFrame(pages)


def recording(docs: list[dict]) -> dict:
    by_domain = {domain_of(p): p["id"] for p in load_pages()}
    out = {}
    for doc in sorted(docs, key=lambda d: d["domain"]):
        urls = []
        for event in doc.get("events") or []:
            if event.get("method") == "Network.requestWillBeSent":
                url = (event["params"].get("request") or {}).get("url") or ""
                if url.startswith(("http://", "https://")) and url not in urls:
                    urls.append(url)
        out[by_domain[doc["domain"]]] = {"outcome": doc["outcome"], "urls": urls,
                                         "js_globals": sorted(doc.get("js_globals") or [])}
    return {"note": "request URLs and signature globals headless Chromium saw per page "
                    "(python -m tests.survey.page_set --record)", "pages": out}


def score(detections: pd.DataFrame) -> dict:
    """Precision / recall of adoption (requests + agent_path evidence) over page x service, and
    every page x service whose evidence kind differs from the expectation."""
    by_domain = {domain_of(p): p for p in load_pages()}
    tp = fp = fn = 0
    mismatches = []
    for row in detections.itertuples(index=False):
        expected = (by_domain[row.domain].get("expect") or {}).get(row.service_id, "none")
        got = row.evidence_source
        want_adopt, got_adopt = expected in ADOPTION_EVIDENCE, got in ADOPTION_EVIDENCE
        tp += want_adopt and got_adopt
        fp += got_adopt and not want_adopt
        fn += want_adopt and not got_adopt
        if expected != got:
            mismatches.append((by_domain[row.domain]["id"], row.service_id, expected, got, list(row.evidence_urls)))
    return {"tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
            "mismatches": mismatches}


def detect_frames(frames) -> pd.DataFrame:
    return detect(*frames, load_signatures(SIGNATURES))


def main(argv=None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--record", action="store_true", help="rewrite recorded_requests.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        docs = crawl_pages(Path(tmp) / "lake")
    result = score(detect_frames(frames_from_docs(docs)))
    print(json.dumps({k: v for k, v in result.items() if k != "mismatches"}), *result["mismatches"], sep="\n")
    if args.record:
        RECORDED.write_text(json.dumps(recording(docs), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
