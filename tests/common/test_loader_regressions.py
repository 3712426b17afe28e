"""Hostile inputs of the platform issue that used to crash a loader (instead of quarantining):
HAR files from the wild and Balabit label files. Each must load, quarantine the bad part with a
reason, and keep the good parts."""
import json

import pytest

from transforms.common.lake import Lake
from transforms.common.quarantine import Quarantine

GOOD_ENTRY = {"startedDateTime": "2024-05-01T10:00:00.000Z", "pageref": "page_1",
              "request": {"method": "GET", "url": "https://www.example.jp/", "headers": []},
              "response": {"status": 200, "headers": [], "content": {"mimeType": "text/html"}}}
GOOD_PAGE = {"id": "page_1", "startedDateTime": "2024-05-01T10:00:00.000Z", "title": "https://www.example.jp/"}


def _har(entries, pages=(GOOD_PAGE,)):
    return {"log": {"version": "1.2", "creator": {"name": "test"}, "pages": list(pages), "entries": entries}}


HOSTILE_HARS = {
    "top-level list": [GOOD_ENTRY],
    "log is a string": {"log": "nothing"},
    "entries is a dict": {"log": {"entries": {"0": GOOD_ENTRY}}},
    "request as a string": _har([{**GOOD_ENTRY, "request": "GET https://x.example/"}, GOOD_ENTRY]),
    "url as an int": _har([{**GOOD_ENTRY, "request": {"url": 12345}}, GOOD_ENTRY]),
    "page as a string": _har([GOOD_ENTRY], pages=["page_1"]),
    "mixed startedDateTime types": _har([{**GOOD_ENTRY, "startedDateTime": 1714557600}, GOOD_ENTRY,
                                         {**GOOD_ENTRY, "startedDateTime": None}]),
    "lone surrogate in content": _har([{**GOOD_ENTRY, "response": {"status": 200, "content": {"text": "\ud800"}}}]),
}


@pytest.mark.parametrize("name", list(HOSTILE_HARS))
def test_hostile_har_imports_with_the_bad_parts_quarantined(name, tmp_path):
    from transforms.survey import har

    path = tmp_path / "in.har"
    path.write_text(json.dumps(HOSTILE_HARS[name]), encoding="utf-8", errors="surrogatepass")
    lake = Lake((tmp_path / "lake").as_uri())
    counts = har.import_files(lake, "har-test", [str(path)])
    assert counts["visits"] + counts["quarantined"] > 0, counts


def test_balabit_labels_that_are_not_labels_are_quarantined(tmp_path):
    from transforms.mouse import balabit

    (tmp_path / "public_labels.csv").write_bytes(
        b"filename,is_illegal\nsession_1,0\nsession_2,maybe\nsession_3,1\nsession_\xff4,1\nsession_5,\n")
    quarantine = Quarantine("balabit")
    labels = balabit.read_labels(tmp_path, quarantine)
    assert labels == {"session_1": 0, "session_3": 1}
    assert sorted(r["reason"] for r in quarantine.rows) == ["filename is not UTF-8"] + ["label is not 0 or 1"] * 2
