"""Each method's vectorised scores against a plain reference written from the paper's text."""
import random
from difflib import SequenceMatcher

import numpy as np
import pytest
import ssdeep

from transforms.fingerprint.attributes import canonical_string
from transforms.fingerprint.methods import (Eckersley, Fybrid, HybridLinker, OpenAM, Ssdeep, Yiks, all_methods,
                                            prepare_records)
from transforms.fingerprint.table import HEADER_ATTRIBUTES, VisitTable


def ref_openam(a, b, limit):
    screen = lambda r: (r["screen"] or "").rsplit("x", 1) if r["screen"] else [None, None]
    changed = sum(a[k] != b[k] for k in ("plugins", "http_user_agent", "fonts", "timezone"))
    changed += screen(a)[0] != screen(b)[0]
    changed += screen(a)[1] != screen(b)[1]
    return 35 * changed <= limit


def ref_eckersley(a, b):
    headers = lambda r: "\n".join(r[k] or "" for k in HEADER_ATTRIBUTES)
    features = {"plugins": (a["plugins"], b["plugins"]), "ua": (a["http_user_agent"], b["http_user_agent"]),
                "fonts": (a["fonts"], b["fonts"]), "screen": (a["screen"], b["screen"]),
                "headers": (headers(a), headers(b)), "timezone": (a["timezone"], b["timezone"])}
    differing = [k for k, (x, y) in features.items() if x != y]
    if not differing:
        return True
    if len(differing) > 1:
        return False
    if differing[0] in ("screen", "timezone"):
        return True
    x, y = features[differing[0]]
    return SequenceMatcher(None, x or "", y or "").ratio() > 0.85


def ref_yiks(a, b):
    x = set(a["plugins"].split(";")) if a["plugins"] else set()
    y = set(b["plugins"].split(";")) if b["plugins"] else set()
    return 1.0 if not x and not y else 2 * len(x & y) / (len(x) + len(y))


@pytest.fixture(scope="module")
def sample(history):
    frame = prepare_records(history[:500])
    table = VisitTable(frame)
    rng = np.random.default_rng(0)
    # random pairs plus same-UID pairs (the interesting ones, where attributes differ slightly)
    i, j = rng.integers(0, len(frame), 1500), rng.integers(0, len(frame), 1500)
    uid_rows = frame.groupby("uid").indices
    pairs = [(r[0], r[k]) for r in uid_rows.values() if len(r) > 1 for k in range(1, len(r))]
    i = np.concatenate([i, [p[0] for p in pairs]])
    j = np.concatenate([j, [p[1] for p in pairs]])
    return frame.astype(object).where(frame.notna(), None).to_dict("records"), table, i, j


def test_fybrid_openam_eckersley_yiks_match_references(sample):
    records, table, i, j = sample
    checks = {
        "fybrid": (Fybrid(), lambda a, b: canonical_string(a) == canonical_string(b)),
        "openam50": (OpenAM(50), lambda a, b: ref_openam(a, b, 50)),
        "openam30": (OpenAM(30), lambda a, b: ref_openam(a, b, 30)),
        "eckersley": (Eckersley(), ref_eckersley),
    }
    for name, (method, reference) in checks.items():
        scores = method.scores(table, i, j)
        decided = scores >= method.threshold
        expected = np.array([reference(records[a], records[b]) for a, b in zip(i, j)])
        assert (decided == expected).all(), name
        assert 0 < decided.mean() < 1, name  # both outcomes occur on this sample
    yiks = Yiks().scores(table, i, j)
    assert np.allclose(yiks, [ref_yiks(records[a], records[b]) for a, b in zip(i, j)])


def test_ssdeep_method_is_ssdeep_compare(sample):
    records, table, i, j = sample
    scores = Ssdeep().scores(table, i, j)
    expected = [ssdeep.compare(ssdeep.hash(canonical_string(records[a])), ssdeep.hash(canonical_string(records[b])))
                for a, b in zip(i, j)]
    assert (scores == expected).all()


def test_same_device_interface(history):
    a, b = history[0], dict(history[0])
    other = next(v for v in history if v.get("http_user_agent") != a.get("http_user_agent") and v.get("fonts") != a.get("fonts"))
    for method in all_methods()[:-1]:
        assert method.same_device(a, b).same, method.name
        assert not method.same_device(a, other).same or method.name == "yiks", method.name
    one_font_more = dict(a, fonts=(a.get("fonts") or "") + ",Zapfino")
    assert Eckersley().same_device(a, one_font_more).same
    assert not Fybrid().same_device(a, one_font_more).same


def test_hybrid_forbids_version_going_down(history, sample):
    records, table, i, j = sample
    hybrid = HybridLinker()
    same = table.uid[i] == table.uid[j]
    hybrid.fit(table, i, j, same)
    visit = next(v for v in history if "Chrome/" in (v.get("http_user_agent") or ""))
    later = dict(visit, ts="2016-01-01T00:00:00+00:00")
    assert hybrid.same_device(visit, later).score > 0.5
    version = visit["http_user_agent"].split("Chrome/")[1].split(".")[0]
    downgraded = dict(later, http_user_agent=visit["http_user_agent"].replace(f"Chrome/{version}", f"Chrome/{int(version) - 3}"))
    assert hybrid.same_device(visit, downgraded).score == 0.0
    upgraded = dict(later, http_user_agent=visit["http_user_agent"].replace(f"Chrome/{version}", f"Chrome/{int(version) + 3}"))
    assert hybrid.same_device(visit, upgraded).score > 0


def test_informative_string_skips_missing_and_weighs_by_entropy():
    import numpy as np

    from transforms.fingerprint.informative import EntropyWeights, informative_string

    n = 64
    codes = {"screen": np.zeros(n, np.int64), "fonts": np.arange(n), "timezone": np.full(n, -1)}
    codes["screen"][::2] = 1  # 1 bit
    weights = EntropyWeights.from_codes(codes)
    assert weights.bits["fonts"] == 6.0 and weights.bits["screen"] == 1.0 and weights.bits["timezone"] == 0.0
    text = informative_string({"screen": "1x1", "fonts": "A,B", "timezone": None, "sse2": "true"}, weights)
    assert text.split("\n") == ["fonts=A,B"] * 3 + ["screen=1x1"]  # 6 bits: 3 copies; sse2 (0 bits) and missing left out
    assert informative_string({"timezone": None}, weights) == ""
    assert EntropyWeights.from_codes({"screen": np.zeros(3, np.int64)}).copies("screen") == 1  # too few rows: uniform
