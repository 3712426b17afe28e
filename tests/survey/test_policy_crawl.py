"""The project's crawler reads whole policies on the fixture web: a cookie policy linked from the
privacy policy (same site, depth 1), a PDF policy, collapsed sections; the classifier then keeps
each evidence sentence with the URL of the page it is on."""
from __future__ import annotations

from pathlib import Path

import pytest

from transforms.common import settings as settings_mod
from transforms.survey import crawler, policy_model, raw
from transforms.survey.disclosure import DisclosureClassifier, pages_of
from transforms.synthetic.survey_policy import POLICY_SITES, _services

try:  # the fixture web's home after the move of issue 11
    from transforms.synthetic.survey.fixture_web import FixtureWeb
except ImportError:
    from transforms.survey.fixture_web import FixtureWeb

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs chromium")]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    lake_uri = (tmp_path_factory.mktemp("policy-crawl") / "lake").as_uri()
    with FixtureWeb() as web:
        s = settings_mod.Settings(lake_uri=lake_uri, page_load_timeout_s=15.0, dwell_s=0.5, browsers_per_task=2,
                                  host_resolver_rules="")
        sites = [{"rank": i + 1, "domain": d, "group": "jp" if d.endswith(".jp") else "other"}
                 for i, d in enumerate(POLICY_SITES)]
        crawler.crawl_batch(s, "p1", sites, extra_chromium_args=web.chromium_args())
    docs = {d["domain"]: d for d in raw.read_visits(s.lake, "p1")}
    return {d: (doc if isinstance(doc, dict) else doc.model_dump()) for d, doc in docs.items()}


@pytest.fixture(scope="module")
def classifier():
    train, _ = policy_model.split(policy_model.load_sentences())
    return DisclosureClassifier(policy_model.PurposeModel().fit(train), "test")


def _classes(classifier, policy, site):
    pages = pages_of(policy)
    return classifier.classify(pages, [_services()[s] for s in site.expected]), pages


def test_linked_cookie_policy_is_read_at_depth_one_on_the_same_site(crawled, classifier):
    site = POLICY_SITES["lindenhof-cycles.com"]
    policy = crawled[site.domain]["policy"]
    assert policy["outcome"] == "ok" and policy["url"].endswith("/privacy/")
    assert [(p["url"], p["outcome"]) for p in policy["pages"]] == [
        (f"https://{site.domain}/legal/cookie-policy/", "ok")]  # not the other site, not depth 2
    verdicts, _ = _classes(classifier, policy, site)
    assert {s: v["disclosure_class"] for s, v in verdicts.items()} == site.expected
    assert verdicts["hotjar"]["service_url"] == f"https://{site.domain}/legal/cookie-policy/"
    page_only = classifier.classify(pages_of({**policy, "pages": []}), [_services()[s] for s in site.expected])
    assert {s: v["disclosure_class"] for s, v in page_only.items()} == site.expected_policy_page_only


def test_pdf_policy_is_read(crawled, classifier):
    site = POLICY_SITES["harbourline-ferries.com"]
    policy = crawled[site.domain]["policy"]
    assert policy["outcome"] == "ok" and policy["format"] == "pdf"
    assert "analytical cookies" in policy["text"]
    verdicts, pages = _classes(classifier, policy, site)
    assert {s: v["disclosure_class"] for s, v in verdicts.items()} == site.expected
    assert verdicts["google_analytics"]["purpose_url"] == policy["url"] and pages[0].kind == "pdf"


def test_collapsed_sections_are_expanded(crawled, classifier):
    site = POLICY_SITES["sakuranbo-zakka.jp"]
    policy = crawled[site.domain]["policy"]
    assert "Microsoft Clarity" in policy["text"] and "Googleアナリティクス" in policy["text"]
    verdicts, _ = _classes(classifier, policy, site)
    assert {s: v["disclosure_class"] for s, v in verdicts.items()} == site.expected
