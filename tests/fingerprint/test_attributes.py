"""UA parsing through ua-parser and the screen forms browsers and collectors really send."""
import pytest

from transforms.fingerprint.attributes import normalise, parse_screen, parse_ua, parse_user_agent

IOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "


@pytest.mark.parametrize("ua, family, major, os_family", [
    (IOS + "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", "chrome mobile ios", 124, "ios"),
    (IOS + "FxiOS/125.0 Mobile/15E148 Safari/605.1.15", "firefox ios", 125, "ios"),
    (IOS + "EdgiOS/124.0.2478.50 Version/17.0 Mobile/15E148 Safari/604.1", "edge mobile", 124, "ios"),
    (IOS + "GSA/311.0.621065787 Mobile/15E148 Safari/604.1", "google", 311, "ios"),
    (IOS + "Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.36.107;]", "facebook", 460, "ios"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 Instagram 327.0.0.35.93 Android", "instagram", 327, "android"),
    (IOS + "Version/17.4 Mobile/15E148 Safari/604.1", "mobile safari", 17, "ios"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 "
     "Edg/124.0.2478.80", "edge", 124, "windows"),
    ("Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko", "ie", 11, "windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0", "firefox", 125, "mac os x"),
])
def test_ua_forms_get_family_and_version(ua, family, major, os_family):
    parsed = parse_ua(ua)
    assert (parsed.family, parsed.major, parsed.os_family) == (family, major, os_family)
    assert parse_user_agent(ua)[:2] == (family, major)


def test_unknown_and_missing_uas():
    assert parse_ua(None).major == -1 and parse_ua("").family == ""
    assert parse_ua("curl-ish thing").major == -1


@pytest.mark.parametrize("value, expected", [
    ("414x896", (414, 896, -1)), ("414x896x24", (414, 896, 24)), ("414 × 896", (414, 896, -1)),
    ("414 x 896 x 32", (414, 896, 32)), ("414*896", (414, 896, -1)), ("1920X1080@24", (1920, 1080, 24)),
    ("414,896", (414, 896, -1)), ("(414, 896)", (414, 896, -1)), ("414x896 24-bit", (414, 896, 24)),
    ([414, 896], (414, 896, -1)), ([1920, 1080, 24], (1920, 1080, 24)),
    ({"width": 390, "height": 844, "colorDepth": 32}, (390, 844, 32)),
    ("garbage", None), (None, None), ("x", None),
])
def test_screen_forms(value, expected):
    assert parse_screen(value) == expected


def test_screen_is_normalised_to_one_form():
    forms = ["414x896", "414 × 896", "414*896", [414, 896], "(414, 896)"]
    assert {normalise("screen", f) for f in forms} == {"414x896"}
    assert normalise("screen", "414 x 896 x 24") == "414x896x24"
    assert normalise("screen", "not a screen") == "not a screen"  # kept as text, not turned into a number


def test_resolution_without_depth_is_not_cut(history):
    from transforms.fingerprint.methods import prepare_records
    from transforms.fingerprint.table import VisitTable

    table = VisitTable(prepare_records([{"screen": "414x896"}, {"screen": "414x896x24"}, {"screen": "414x736"}]))
    assert table.resolution_code[0] == table.resolution_code[1] != table.resolution_code[2]
    assert table.depth_code[0] < 0 and table.depth_code[1] >= 0  # 414x896 has no depth (was parsed as resolution 414)
