import pandas as pd

from transforms.common.settings import Settings
from transforms.survey.detect import detect, load_signatures

SPEC_SERVICES = {"clarity", "hotjar", "mouseflow", "yandex_metrica", "contentsquare", "crazyegg", "dynatrace",
                 "foresee", "fullstory", "glassbox", "inspectlet", "logrocket", "luckyorange", "smartlook"}


def test_signature_file_covers_the_papers_services_and_ga():
    signatures = load_signatures(Settings().signatures_file)
    assert SPEC_SERVICES | {"google_analytics"} <= set(signatures.ids)
    assert signatures.version


def _frames(requests, html="", outcome="ok"):
    visits = pd.DataFrame([{"visit_id": "v", "domain": "a.jp", "group": "jp", "outcome": outcome}])
    reqs = pd.DataFrame([{"visit_id": "v", "host": h, "url": u} for h, u in requests], columns=["visit_id", "host", "url"])
    pages = pd.DataFrame([{"visit_id": "v", "html": html}])
    return visits, reqs, pages


def test_requests_html_and_lookalikes():
    signatures = load_signatures(Settings().signatures_file)
    visits, reqs, pages = _frames(
        [("x.clarity.ms", "https://x.clarity.ms/collect"), ("notclarity.ms.example.com", "https://notclarity.ms.example.com/"),
         ("mc.yandex.ru", "https://mc.yandex.ru/watch/1")],
        html="<noscript><img src='https://cdn.mouseflow.com/projects/abc.js'></noscript>")
    found = detect(visits, reqs, pages, signatures).set_index("service_id")
    assert found.loc["clarity", "evidence_source"] == "requests"
    assert found.loc["yandex_metrica", "detected"]
    assert found.loc["mouseflow", "evidence_source"] == "html" and found.loc["mouseflow", "detected"]
    assert not found.loc["hotjar", "detected"]
    assert len(found) == len(signatures.ids)


def test_failed_visits_keep_their_captured_requests():
    """A visit that timed out still had its requests captured: they are analysed (the report
    keeps the visit out of the denominators and lists the detection separately)."""
    visits, reqs, pages = _frames([("x.clarity.ms", "https://x.clarity.ms/collect")], outcome="timeout")
    found = detect(visits, reqs, pages, load_signatures(Settings().signatures_file)).set_index("service_id")
    assert found.loc["clarity", "detected"] and found.loc["clarity", "evidence_source"] == "requests"
    assert not found.loc["hotjar", "detected"]


def test_user_added_service(tmp_path):
    path = tmp_path / "sig.yaml"
    path.write_text("version: t1\nservices:\n  - {id: newrec, name: NewRec, kind: session_replay, hosts: [newrec.io]}\n")
    visits, reqs, pages = _frames([("cdn.newrec.io", "https://cdn.newrec.io/r.js")])
    found = detect(visits, reqs, pages, load_signatures(path))
    assert found[["service_id", "detected", "signatures_version"]].values.tolist() == [["newrec", True, "t1"]]
