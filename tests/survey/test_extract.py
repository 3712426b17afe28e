import json

from transforms.survey import extract, har, raw, schemas
from transforms.survey.detect import detect, load_signatures
from transforms.common.settings import Settings

WALL = 1_790_000_000.0


def _event(method, **params):
    return {"method": method, "params": params}


def crawler_doc(crawl_id="c1"):
    return {
        "crawl_id": crawl_id, "domain": "shop.co.jp", "rank": 1, "group": "jp", "visit_id": f"{crawl_id}:shop.co.jp",
        "outcome": "ok", "retries": 0, "partial": False, "start_url": "https://shop.co.jp/",
        "final_url": "https://www.shop.co.jp/", "redirect_chain": ["https://shop.co.jp/", "https://www.shop.co.jp/"],
        "started_at": "2026-09-21T10:00:00+00:00", "ended_at": "2026-09-21T10:00:07+00:00", "duration_s": 7.0,
        "title": "Shop", "html": "<html><script src='https://www.clarity.ms/tag/abc'></script></html>",
        "html_size": 70, "html_sha256": "x",
        "attempts": [{"url": "https://shop.co.jp/", "outcome": "ok", "started_at": "2026-09-21T10:00:00+00:00"}],
        "policy": {"url": "https://www.shop.co.jp/privacy", "outcome": "ok", "text": "..."},
        "events": [
            _event("Network.requestWillBeSent", requestId="1", type="Document", frameId="F",
                   request={"url": "https://shop.co.jp/", "method": "GET"}, wallTime=WALL, initiator={"type": "other"}),
            _event("Network.requestWillBeSent", requestId="1", type="Document", frameId="F", wallTime=WALL + 0.1,
                   request={"url": "https://www.shop.co.jp/", "method": "GET"}, initiator={"type": "other"},
                   redirectResponse={"status": 301, "remoteIPAddress": "127.0.0.1", "mimeType": "text/html"}),
            _event("Network.responseReceived", requestId="1", type="Document",
                   response={"status": 200, "remoteIPAddress": "127.0.0.1", "mimeType": "text/html"}),
            _event("Network.requestWillBeSent", requestId="2", type="Script", frameId="F", wallTime=WALL + 0.2,
                   request={"url": "https://www.clarity.ms/tag/abc", "method": "GET"},
                   initiator={"type": "parser", "url": "https://www.shop.co.jp/"}),
            _event("Network.requestWillBeSent", requestId="3", type="Fetch", frameId="F", wallTime=WALL + 0.5,
                   request={"url": "https://x.clarity.ms/collect", "method": "POST", "postData": "abcd"},
                   initiator={"type": "script", "stack": {"callFrames": [{"url": "https://www.clarity.ms/tag/abc"}]}}),
            _event("Network.loadingFailed", requestId="3", errorText="net::ERR_FAILED"),
            _event("Network.requestWillBeSent", requestId="4", type="Image", wallTime=WALL + 0.6,
                   request={"url": "data:image/png;base64,xx", "method": "GET"}),
            {"params": {}},
        ],
    }


def test_cdp_events_become_request_rows(lake):
    raw.write_visit(lake, crawler_doc())
    counts = extract.extract(lake, "c1", raw.read_visits(lake, "c1"))
    requests = lake.read_partition(schemas.REQUESTS, "c1", staged=True).set_index("request_id")
    assert counts["survey_requests"] == 4 and counts["quarantined"] == 1
    assert requests.loc["1", "status"] == 301 and requests.loc["1#1", "status"] == 200  # redirect hops
    beacon = requests.loc["3"]
    assert beacon["method"] == "POST" and beacon["post_body_size"] == 4 and beacon["failed"]
    assert beacon["third_party"] and not requests.loc["1#1", "third_party"]
    assert beacon["initiator_url"] == "https://www.clarity.ms/tag/abc"
    assert beacon["registrable_domain"] == "clarity.ms"
    visits = lake.read_partition(schemas.SITE_VISITS, "c1", staged=True)
    assert visits["request_count"].tolist() == [4]
    extract.extract(lake, "c1", raw.read_visits(lake, "c1"))  # rerun: same rows, no duplicates
    assert len(lake.read_partition(schemas.REQUESTS, "c1", staged=True)) == 4


def test_har_import_fills_the_same_tables(lake, tmp_path):
    entries = [
        {"pageref": "page_1", "startedDateTime": "2024-05-01T09:00:00.000Z", "_resourceType": "document",
         "request": {"method": "GET", "url": "https://example.com/"}, "serverIPAddress": "93.184.216.34",
         "response": {"status": 200, "content": {"mimeType": "text/html", "text": "<html>static.hotjar.com/c/hotjar-1.js</html>"}}},
        {"pageref": "page_1", "startedDateTime": "2024-05-01T09:00:01.000Z", "_resourceType": "script",
         "request": {"method": "GET", "url": "https://static.hotjar.com/c/hotjar-1.js?sv=6"},
         "response": {"status": 200, "content": {"mimeType": "application/javascript"}}},
        {"pageref": "page_1", "startedDateTime": "2024-05-01T09:00:02.000Z",
         "request": {"method": "POST", "url": "https://in.hotjar.com/api/v2/client", "postData": {"text": "{}"}},
         "response": {"status": 0, "_error": "net::ERR_BLOCKED"}},
        {"pageref": "page_1", "startedDateTime": "not a time", "request": {"url": "https://example.com/x"}},
        {"request": {}},
    ]
    path = tmp_path / "old.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "pages": [{"id": "page_1", "title": "Example"}],
                                        "entries": entries}}))
    (tmp_path / "broken.har").write_text("{nope")
    counts = har.import_files(lake, "har-2024", [str(path), str(tmp_path / "broken.har")])
    assert counts == {"visits": 1, "pages": 1, "quarantined": 2}
    result = extract.extract(lake, "har-2024", raw.read_visits(lake, "har-2024"))
    assert result["survey_requests"] == 3 and result["quarantined"] == 1
    visits = lake.read_partition(schemas.SITE_VISITS, "har-2024", staged=True)
    assert visits[["domain", "source", "outcome"]].values.tolist() == [["example.com", "har", "ok"]]
    requests = lake.read_partition(schemas.REQUESTS, "har-2024", staged=True)
    failed = requests[requests["url"].str.contains("api/v2")].iloc[0]
    assert failed["failed"] and failed["post_body_size"] == 2
    pages = lake.read_partition(schemas.PAGES, "har-2024", staged=True)
    detections = detect(visits, requests, pages, load_signatures(Settings().signatures_file))
    hits = detections[detections["detected"]]
    assert hits[["service_id", "evidence_source"]].values.tolist() == [["hotjar", "requests"]]
