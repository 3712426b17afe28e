"""Graceful degradation on inputs users really have: Linux/XP/Vista/unknown User-Agents, City-only
GeoIP, ASN mmdb and IP-range → ASN CSV/TSV, wrong database types, private and unroutable
addresses. Databases are real MaxMind DB files written by ``mmdb-writer`` and read by ``geoip2``."""
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from transforms.member_id.enrich import enrich, enrich_columns, parse_user_agent
from transforms.member_id.geo import GeoConfigError, GeoLookup, Network, write_databases

UAS = {
    "linux_chrome": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "ubuntu_firefox": "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "xp_ie": "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0)",
    "vista_chrome": "Mozilla/5.0 (Windows NT 6.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.112 Safari/537.36",
    "unknown": "ShopClient/3.1",
    "empty": "",
}
NETS = [
    Network("81.2.69.0/24", "Full ISP", 64500, "GB", "London", "England", 51.5, -0.1),
    Network("81.2.70.0/24", "Country Only ISP", 64501, "GB", "", "", 0, 0, city_level="country"),
    Network("2001:db8:1::/48", "V6 ISP", 64502, "DE", "Berlin", "Berlin", 52.5, 13.4),
    Network("100.0.0.0/16", "No City ISP", 64503, "US", "", "", 0, 0, in_city_db=False),
    Network("100.1.0.0/16", "", 0, "US", "", "Ohio", 0, 0, in_city_db=True, city_level="region", in_isp_db=False),
]


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    root = tmp_path_factory.mktemp("geo")
    paths = {k: str(root / name) for k, name in (("city", "City.mmdb"), ("isp", "ISP.mmdb"), ("asn", "ASN.mmdb"),
                                                 ("asn_csv", "asn.csv"))}
    write_databases(NETS, paths["city"], paths["isp"], paths["asn"], paths["asn_csv"])
    # iptoasn.com layout: tab-separated, no header, AS 0 = not routed
    (root / "ip2asn.tsv").write_text("81.2.69.0\t81.2.70.255\t64500\tGB\tFull ISP\n"
                                     "100.0.0.0\t100.0.255.255\t64503\tUS\tNo City ISP\n"
                                     "100.1.0.0\t100.1.255.255\t0\tNone\tNot routed\n"
                                     "2001:db8:1::\t2001:db8:1:ffff:ffff:ffff:ffff:ffff\t64502\tDE\tV6 ISP\n")
    paths["tsv"] = str(root / "ip2asn.tsv")
    return paths


def test_user_agents_without_numeric_versions():
    linux = parse_user_agent(UAS["linux_chrome"])
    assert linux[0] == "Linux" and linux[1] == "" and np.isnan(linux[2]) and linux[5] == "Chrome" and linux[7] == 120
    xp, vista = parse_user_agent(UAS["xp_ie"]), parse_user_agent(UAS["vista_chrome"])
    assert xp[:4] == ("Windows", "XP", 5.0, 1.0) and vista[:4] == ("Windows", "Vista", 6.0, 0.0)
    assert parse_user_agent(UAS["unknown"])[:2] == ("", "") and parse_user_agent("")[:2] == ("", "")


def frame_of(ips, uas):
    return pd.DataFrame({"member_id": ["m"] * len(ips), "ts": pd.to_datetime(["2026-03-01T10:00:00Z"] * len(ips)),
                         "ip": ips, "user_agent": uas})


@pytest.mark.parametrize("setup", ["city_only", "isp", "asn", "asn_csv", "tsv"])
def test_every_geo_setup_estimates_every_ua(dbs, setup):
    geo = GeoLookup(dbs["city"], "" if setup == "city_only" else dbs[setup])
    ips = ["81.2.69.10", "81.2.70.10", "2001:db8:1::5", "100.0.3.4", "100.1.3.4", "203.0.113.9"]
    out = enrich(frame_of([ip for ip in ips for _ in UAS], [ua for _ in ips for ua in UAS.values()]), geo)
    by_ip = out.groupby("ip")
    assert (out["network"] != "").all()
    # a known UA family or a GeoIP record is enough; an unknown UA from an unknown address is not
    unusable = out[out["unusable"] != ""]
    assert set(unusable["ip"]) <= {"203.0.113.9", "100.1.3.4"} | ({"100.0.3.4"} if setup == "city_only" else set())
    assert set(unusable["user_agent"]) <= {UAS["unknown"], UAS["empty"]}
    full = by_ip.get_group("81.2.69.10").iloc[0]
    assert full["place"] == "GB/England/London"
    assert by_ip.get_group("81.2.70.10").iloc[0]["place"] == "GB"  # City database knows only the country
    assert by_ip.get_group("100.1.3.4").iloc[0]["place"] == "US/Ohio"  # region record, no city
    if setup == "city_only":
        assert full["network"] == "81.2.69.0/24" and full["evidence"].endswith("network=prefix")
        assert by_ip.get_group("2001:db8:1::5").iloc[0]["network"] == "2001:db8:1::/48"
    elif setup == "isp":
        assert full["network"] == "Full ISP" and full["asn"] == "AS64500" and full["routed_prefix"] == "81.2.69.0/24"
    else:
        assert full["network"] == "AS64500" and full["isp"] == ""
        assert by_ip.get_group("2001:db8:1::5").iloc[0]["network"] == "AS64502"
        assert by_ip.get_group("100.1.3.4").iloc[0]["asn"] == ""  # unrouted: no ASN, prefix fallback
        assert full["routed_prefix"] == {"asn": "81.2.69.0/24", "asn_csv": "81.2.69.0/24",
                                         "tsv": "81.2.69.0-81.2.70.255"}[setup]
    linux = out[(out["ip"] == "81.2.69.10") & (out["user_agent"] == UAS["linux_chrome"])].iloc[0]
    assert linux["unusable"] == "" and "os_version" in linux["missing_fields"]
    assert linux["evidence"].startswith("ua=version")
    # the API's array path gives the same values
    cols = enrich_columns([datetime(2026, 3, 1, 10, tzinfo=timezone.utc)] * len(out), out["ip"].tolist(),
                          out["user_agent"].tolist(), geo)
    for name in ("place", "network", "evidence", "unusable", "missing_fields", "asn", "routed_prefix"):
        assert list(cols[name]) == out[name].tolist(), name


def test_private_and_unroutable_addresses_do_not_crash(dbs):
    geo = GeoLookup(dbs["city"], dbs["isp"])
    ips = ["10.1.2.3", "192.168.0.1", "127.0.0.1", "fe80::1", "240.0.0.1", "::1"]
    out = enrich(frame_of(ips, [UAS["linux_chrome"]] * len(ips)), geo)
    assert (out["place"] == "").all() and (out["isp"] == "").all()
    assert out.loc[0, "network"] == "10.1.2.0/24" and out.loc[3, "network"] == "fe80::/48"
    assert (out["unusable"] == "").all()  # the UA is still evidence
    nothing = enrich(frame_of(ips, [UAS["unknown"]] * len(ips)), geo)
    assert nothing["unusable"].str.startswith("no usable evidence").all()


def test_wrong_database_types_fail_at_start_with_a_clear_message(dbs, tmp_path):
    with pytest.raises(GeoConfigError, match="GeoIP2-City database; the ISP/ASN database setting"):
        GeoLookup(dbs["city"], dbs["city"])  # City given as ISP: used to crash per row with a TypeError
    with pytest.raises(GeoConfigError, match="GeoIP2-ISP database; the City database setting"):
        GeoLookup(dbs["isp"], dbs["asn"])
    with pytest.raises(GeoConfigError, match="does not exist"):
        GeoLookup(str(tmp_path / "nope.mmdb"))
    (tmp_path / "junk.csv").write_text("hello,world\nfoo,bar\n")
    with pytest.raises(GeoConfigError, match="not an IP-range"):
        GeoLookup(dbs["city"], str(tmp_path / "junk.csv"))
    (tmp_path / "bad.mmdb").write_bytes(b"not a database")
    with pytest.raises(GeoConfigError, match="not a readable MaxMind DB"):
        GeoLookup(str(tmp_path / "bad.mmdb"))


def test_enrich_stage_refuses_a_wrong_database_before_reading_rows(dbs, tmp_path):
    from transforms.member_id import stages
    from transforms.member_id.settings import MemberIdSettings

    settings = MemberIdSettings(lake_uri=(tmp_path / "lake").as_uri(), mid_city_mmdb=dbs["city"],
                                mid_isp_mmdb=dbs["city"])
    with pytest.raises(GeoConfigError):
        stages.enrich_day(settings, "2026-03-01")  # no partition exists: the check comes first


MAXMIND = __import__("pathlib").Path(__file__).parent / "data" / "maxmind"


@pytest.mark.parametrize("network", ["", "GeoLite2-ASN-Test.mmdb", "GeoIP2-ISP-Test.mmdb"])
def test_maxmind_test_databases_known_answers(network):
    geo = GeoLookup(str(MAXMIND / "GeoLite2-City-Test.mmdb"), str(MAXMIND / network) if network else "")
    ips = ["81.2.69.142", "89.160.20.112", "67.43.156.1", "1.128.0.0", "10.0.0.1"]
    out = enrich(frame_of(ips, [UAS["linux_chrome"]] * len(ips)), geo).set_index("ip")
    assert out.loc["81.2.69.142", "place"] == "GB/England/London"
    assert out.loc["89.160.20.112", "place"] == "SE/Östergötland County/Linköping"
    assert out.loc["67.43.156.1", "place"] == "BT"  # the City database knows only the country
    assert out.loc["1.128.0.0", "place"] == "" and out.loc["10.0.0.1", "place"] == ""
    expected = {"": {"89.160.20.112": "89.160.20.0/24", "1.128.0.0": "1.128.0.0/24"},
                "GeoLite2-ASN-Test.mmdb": {"89.160.20.112": "AS29518", "1.128.0.0": "AS1221"},
                "GeoIP2-ISP-Test.mmdb": {"89.160.20.112": "Bredband2 AB", "1.128.0.0": "Telstra Internet"}}[network]
    for ip, value in expected.items():
        assert out.loc[ip, "network"] == value
    if network:
        assert out.loc["89.160.20.112", "asn"] == "AS29518" and out.loc["67.43.156.1", "asn"] == "AS35908"
    assert (out["unusable"] == "").all()  # a Linux Chrome UA is evidence even for a private address


def test_maxmind_database_in_the_wrong_role():
    with pytest.raises(GeoConfigError, match="GeoLite2-City database; the ISP/ASN"):
        GeoLookup(str(MAXMIND / "GeoLite2-City-Test.mmdb"), str(MAXMIND / "GeoLite2-City-Test.mmdb"))
    with pytest.raises(GeoConfigError, match="GeoLite2-ASN database; the City"):
        GeoLookup(str(MAXMIND / "GeoLite2-ASN-Test.mmdb"))
