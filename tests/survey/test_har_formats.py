"""HAR files of five tools import and analyse (issue 13): Chrome DevTools, Firefox and BrowserMob
samples written after their published formats, puppeteer-har (chrome-har, as The Markup's
Blacklight writes them) and Playwright samples recorded from Chromium on loopback
(tests/survey/data/har/record_hars.py), and one HAR with every defect of the issue."""
from pathlib import Path

import pytest
import yaml

from transforms.common.settings import Settings
from transforms.survey import checkpoints, extract, har, raw, schemas
from transforms.survey.detect import detect, load_signatures

HAR_DIR = Path(__file__).with_name("data") / "har"
EXPECTED = yaml.safe_load((HAR_DIR / "expected.yaml").read_text(encoding="utf-8"))


def _import_and_analyse(lake, name: str, crawl_id: str = "har-test"):
    counts = har.import_files(lake, crawl_id, [str(HAR_DIR / name)])
    extracted = extract.extract(lake, crawl_id, raw.read_visits(lake, crawl_id))
    visits = lake.read_partition(schemas.SITE_VISITS, crawl_id, staged=True)
    requests = lake.read_partition(schemas.REQUESTS, crawl_id, staged=True)
    pages = lake.read_partition(schemas.PAGES, crawl_id, staged=True)
    checkpoints.after_extraction(lake, crawl_id, visits, requests)  # raises on duplicate ids etc.
    detections = detect(visits, requests, pages, load_signatures(Settings().signatures_file))
    return counts, extracted, visits, requests, detections


def _found(detections) -> dict:
    hits = detections[detections["detected"]]
    return {d: dict(zip(g["service_id"], g["evidence_source"])) for d, g in hits.groupby("domain")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_tools_har_imports_and_analyses(lake, name):
    if not (HAR_DIR / name).exists():
        pytest.fail(f"{name} missing: record it with tests/survey/data/har/record_hars.py")
    doc = yaml.safe_load((HAR_DIR / name).read_text(encoding="utf-8"))
    assert doc["log"]["creator"]["name"] == EXPECTED[name]["creator"]
    counts, extracted, visits, requests, detections = _import_and_analyse(lake, name)
    expected = EXPECTED[name]["visits"]
    assert sorted(visits["domain"]) == sorted(expected)
    assert set(visits["source"]) == {"har"} and set(visits["outcome"]) == {"ok"}
    assert (visits["request_count"] > 0).all()
    assert _found(detections) == expected
    assert requests.groupby(["visit_id", "request_id"]).size().max() == 1


def test_initiators_of_every_format(lake):
    _, _, _, requests, _ = _import_and_analyse(lake, "chrome-devtools.har", "h1")
    quantum = requests[requests["url"].str.contains("qscripts")].iloc[0]
    assert quantum["initiator_type"] == "script" and quantum["initiator_url"] == "https://www.example-bank.co.jp/"
    assert quantum["resource_type"] == "script" and quantum["status"] == 200
    blocked = requests[requests["url"].str.contains("horizon")].iloc[0]
    assert blocked["failed"] and blocked["error_text"] == "net::ERR_BLOCKED_BY_CLIENT" and blocked["post_body_size"] == 2
    _, _, _, requests, _ = _import_and_analyse(lake, "defects.har", "h2")
    hotjar = requests[requests["url"].str.contains("hotjar-3141592")].iloc[0]
    assert hotjar["initiator_url"] == "https://www.cdph.ca.gov/" and hotjar["initiator_type"] == "parser"


def test_a_har_with_every_defect_imports_with_bad_parts_quarantined(lake):
    counts, extracted, visits, requests, detections = _import_and_analyse(lake, "defects.har", "defects")
    # two hostless pages (about:blank, file:) and three unusable entries are quarantined at import,
    # the entry with an unreadable time at extraction; everything else is kept
    assert counts == {"visits": 2, "pages": 3, "quarantined": 5}
    assert extracted["quarantined"] == 1
    q = har.Quarantine("check")  # the reasons, as the import records them
    har.visit_docs(yaml.safe_load((HAR_DIR / "defects.har").read_text()), "x", "defects.har", q)
    assert q.counts() == {"HAR entry without request.url": 3,
                          "HAR page without a host (about:blank): cannot be attributed to a site": 1,
                          "HAR page without a host (file:///C:/Users/me/saved/page.html): cannot be attributed to a site": 1}
    cdph = visits.set_index("domain").loc["cdph.ca.gov"]
    assert list(cdph["redirect_chain"]) == ["http://cdph.ca.gov/", "https://cdph.ca.gov/", "https://www.cdph.ca.gov/"]
    assert cdph["final_url"] == "https://www.cdph.ca.gov/"
    ids = sorted(requests[requests["domain"] == "cdph.ca.gov"]["request_id"])
    # redirect hops sharing one _requestId get #n suffixes (as the crawl path); the second page of
    # the same host keeps its own ids (p1:); entries without an id get har-<n>
    assert {"1000.1", "1000.1#1", "1000.1#2", "1000.2", "p1:1000.1", "p1:1000.2"} <= set(ids)
    assert len(ids) == len(set(ids)) == 8
    text_status = requests[requests["url"].str.contains("ruxitagentjs")].iloc[0]
    assert text_status["status"] == 200 and not text_status["failed"]
    no_response = requests[requests["url"].str.contains("visit-data")].iloc[0]
    assert no_response["failed"] and no_response["error_text"] == "no response"
    assert visits.set_index("domain").loc["www.dmv.ca.gov", "group"] == "other"


def test_hosts_of_one_registrable_domain_are_distinct_visits(lake, tmp_path):
    import json

    def page(pid, url):
        return [{"pageref": pid, "startedDateTime": "2026-11-30T05:00:00Z", "_resourceType": "document",
                 "request": {"url": url}, "response": {"status": 200, "content": {"mimeType": "text/html"}}}]
    doc = {"log": {"pages": [{"id": "a"}, {"id": "b"}],
                   "entries": page("a", "https://www.cdph.ca.gov/") + page("b", "https://www.ca.gov/")}}
    path = tmp_path / "two.har"
    path.write_text(json.dumps(doc))
    assert har.import_files(lake, "two", [str(path)])["visits"] == 2
    assert sorted(d["visit_id"] for d in raw.read_visits(lake, "two")) == ["two:www.ca.gov", "two:www.cdph.ca.gov"]
