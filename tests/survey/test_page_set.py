"""Detection on the vendor-snippet page set (issue 13 "Done when": P = R = 1).

``tests/survey/data/pages/pages.yaml``: pages in the shape of vendors' documented snippets and
agent URLs (first-party and CDN-mirrored forms included) and similar-looking negatives.
The fast test re-analyses what headless Chromium requested on each page
(``recorded_requests.json``); the slow one crawls the pages again with the project's crawler.
"""
import json
import os
from pathlib import Path

import pytest

from tests.survey import page_set
from transforms.survey.detect import ADOPTION_EVIDENCE, load_signatures


def test_the_set_is_wide_and_has_lookalike_negatives():
    pages = page_set.load_pages()
    assert len(pages) >= 40 and len({p["id"] for p in pages}) == len(pages)
    signatures = load_signatures(page_set.SIGNATURES)
    srs = {s.id for s in signatures.services if s.kind == "session_replay"}
    assert len(srs) >= 25
    positives = {sid for p in pages for sid, kind in (p["expect"] or {}).items() if kind in ADOPTION_EVIDENCE}
    assert srs <= positives, f"services without a positive page: {sorted(srs - positives)}"
    kinds = {kind for p in pages for kind in (p["expect"] or {}).values()}
    assert kinds == {"requests", "agent_path", "global", "html"}
    assert sum(1 for p in pages if not p["expect"]) >= 10
    assert any("scorecardresearch.com" in p["html"] and "cs.js" in p["html"] for p in pages if not p["expect"])
    for p in pages:
        assert p.get("source"), p["id"]
        assert set(p["expect"] or {}) <= set(signatures.ids), p["id"]


def test_detection_on_recorded_chromium_requests_is_exact():
    recorded = json.loads(page_set.RECORDED.read_text(encoding="utf-8"))
    assert set(recorded["pages"]) == {p["id"] for p in page_set.load_pages()}, "re-record: python -m tests.survey.page_set --record"
    assert {v["outcome"] for v in recorded["pages"].values()} == {"ok"}
    result = page_set.score(page_set.detect_frames(page_set.frames_from_recording(recorded)))
    assert result["mismatches"] == []
    assert result["precision"] == 1.0 and result["recall"] == 1.0 and result["tp"] >= 50


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs chromium")
def test_detection_when_crawled_in_chromium(tmp_path):
    docs = page_set.crawl_pages(tmp_path / "lake")
    assert {d["outcome"] for d in docs} == {"ok"}
    result = page_set.score(page_set.detect_frames(page_set.frames_from_docs(docs)))
    assert result["mismatches"] == []
    assert result["precision"] == 1.0 and result["recall"] == 1.0
