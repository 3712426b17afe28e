"""Log parsing, quarantine and enrichment against generated mmdb files read by geoip2."""
import pandas as pd
import pytest

from transforms.common.quarantine import Quarantine
from transforms.member_id import ingest
from transforms.member_id.enrich import enrich
from transforms.member_id.geo import GeoLookup

from .conftest import DAY_NAMES

UA_CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/140.0.6000.11 Safari/537.36")


def test_combined_format_ipv4_ipv6_cookie_and_quarantine():
    lines = [
        f'23.0.0.5 - alice [01/Mar/2026:10:00:00 +0900] "GET / HTTP/1.1" 200 12 "-" "{UA_CHROME}"',
        f'2400:4000::1 - - [01/Mar/2026:23:00:00 +0000] "GET / HTTP/1.1" 200 - "-" "{UA_CHROME}" "sid=1; member=bob"',
        "garbage",
        f'192.168.0.3 - carol [01/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "{UA_CHROME}"',
        f'not-an-ip - carol [01/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "{UA_CHROME}"',
        f'23.0.0.9 - dave [02/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "{UA_CHROME}"',
    ]
    q = Quarantine("ingest")
    rows = ingest.parse_combined(lines, "2026-03-01", "user", q, "t.log")
    assert [r["member_id"] for r in rows] == ["alice", ""]
    assert rows[0]["ts"].hour == 1  # +0900 normalised to UTC
    assert rows[1]["ip"] == "2400:4000::1"
    assert q.counts() == {"unparseable log line": 1, "private or reserved ip address": 1, "invalid ip address": 1,
                          "timestamp outside the partition day": 1}
    by_cookie = ingest.parse_combined(lines[:2], "2026-03-01", "cookie:member", Quarantine("x"), "t.log")
    assert [r["member_id"] for r in by_cookie] == ["", "bob"]


def test_table_input(tmp_path):
    frame = pd.DataFrame({"member": ["a", None], "ts": ["2026-03-01T10:00:00Z", "bad"],
                          "ip": ["23.0.0.5", "23.0.0.6"], "user_agent": [UA_CHROME, UA_CHROME]})
    frame.to_csv(tmp_path / "access-2026-03-01.csv", index=False)
    q = Quarantine("ingest")
    out, _ = ingest.read_day(str(tmp_path), "2026-03-01", "column:member", q)
    assert out["member_id"].tolist() == ["a"] and len(q) == 1


def test_generated_day_enriches_with_real_readers(world):
    q = Quarantine("ingest")
    accesses, _ = ingest.read_day(str(world / "logs"), DAY_NAMES[1], "user", q)
    assert len(q) >= 3  # the generator's noise lines
    geo = GeoLookup(str(world / "City.mmdb"), str(world / "ISP.mmdb"))
    enriched = enrich(accesses, geo)
    members = enriched[enriched["member_id"] != ""]
    estimable = members[members["unusable"] == ""]
    assert len(estimable) > 0.97 * len(members)  # degraded accesses are estimable
    assert (estimable["missing_fields"] != "").mean() > 0.2  # ... and there are many of them
    assert set(estimable["country"]) <= {"JP", ""} and estimable["latitude"].dropna().between(30, 46).all()
    assert (enriched["ip_version"] == 6).any() and (enriched["ip_version"] == 4).any()
    assert (enriched["network"] != "").all()
    bots = enriched[enriched["is_bot"]]
    assert len(bots) and (bots["member_id"] == "").all()
    assert (bots["unusable"] == "bot user agent (not estimated)").all()


def test_unknown_city_falls_back_to_the_network(world):
    geo = GeoLookup(str(world / "City.mmdb"), str(world / "ISP.mmdb"))
    from transforms.synthetic.member_id_logs import Generator
    from datetime import date

    world_nets = Generator(5, 1, date(2026, 3, 1), seed=3).world
    frame = pd.DataFrame({"member_id": ["x", "y", "z"], "ts": pd.to_datetime(["2026-03-01T10:00:00Z"] * 3),
                          "ip": [str(world_nets.uncharted.network_address + 5), str(world_nets.unrouted.network_address + 7),
                                 str(world_nets.unrouted.network_address + 8)],
                          "user_agent": ["curl/8.0", UA_CHROME, "ShopClient/3.1"]})
    out = enrich(frame, geo)
    assert out.loc[0, "isp"] == "Uncharted ISP" and out.loc[0, "place"] == ""
    assert out.loc[0, "missing_fields"] == "country,city,os_version"
    assert out.loc[0, "unusable"].startswith("bot")
    # in no database: the /24 is the network evidence, the UA the rest
    assert out.loc[1, "network"] == f"{world_nets.unrouted.network_address}/24"
    assert out.loc[1, "evidence"] == "ua=version;place=none;network=prefix" and out.loc[1, "unusable"] == ""
    # an unknown UA from an address no database knows: nothing usable
    assert out.loc[2, "evidence"] == "ua=none;place=none;network=prefix"
    assert out.loc[2, "unusable"].startswith("no usable evidence")


def test_member_from_header_field_cookie_field_and_mapping_file(tmp_path):
    from transforms.member_id.ingest import MemberSource, MemberSourceError

    lines = [f'23.0.0.5 - - [01/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "{UA_CHROME}" "m-17" '
             f'"sid=1; member=bob" "req-1"',
             f'23.0.0.6 - - [01/Mar/2026:11:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "{UA_CHROME}" "-" "-" "req-2"',
             f'23.0.0.7 - - [01/Mar/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "{UA_CHROME}" "" "" "req-3"']
    fields = "X-Member-Id,Cookie,request_id"

    def members(source):
        return [r["member_id"] for r in ingest.parse_combined(lines, "2026-03-01", source, Quarantine("t"), "t.log")]

    assert members(MemberSource("header:X-Member-Id", fields)) == ["m-17", "", ""]
    assert members(MemberSource("header:x-member-id", fields)) == ["m-17", "", ""]  # header names are case-blind
    assert members(MemberSource("cookie:member", fields)) == ["bob", "", ""]
    (tmp_path / "map.csv").write_text("request_id,member_id\nreq-2,carol\nreq-3,dave\n")
    assert members(MemberSource(f"map:{tmp_path / 'map.csv'}", fields)) == ["", "carol", "dave"]
    with pytest.raises(MemberSourceError, match="does not name the log field"):
        members(MemberSource("header:X-Member-Id", ""))
    for bad in ("header:", "session:x", f"map:{tmp_path / 'none.csv'}"):
        with pytest.raises(MemberSourceError):
            MemberSource(bad)
    # table inputs: header:<name> reads the column of that name
    frame = pd.DataFrame({"X-Member-Id": ["m-1"], "ts": ["2026-03-01T10:00:00Z"], "ip": ["23.0.0.5"],
                          "user_agent": [UA_CHROME]})
    rows = ingest.parse_table(frame, "2026-03-01", MemberSource("header:X-Member-Id"), Quarantine("t"), "t.csv")
    assert [r["member_id"] for r in rows] == ["m-1"]
