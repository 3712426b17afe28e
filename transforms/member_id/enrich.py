"""Access → SPEC §S3 features: time parts, IP octets/prefixes, GeoIP fields, parsed User-Agent.

Lookups are cached per distinct IP and UA (logs repeat them a lot). Every enrichment field is
optional: a missing OS/browser version (Linux desktops, unknown UAs), city or ISP is recorded in
``missing_fields`` and as ``miss_*`` numeric flags (the model learns from missingness), and the
coarser evidence takes over: ``place`` = city > region > country, ``network`` = ISP > ASN >
routed prefix > /24 (IPv4) or /48 (IPv6). ``evidence`` says which level each part came from;
``unusable`` is non-empty only for bots and for accesses with no usable evidence at all (no
known UA family and no GeoIP record): the estimator answers ``error`` for those alone.
"""
from __future__ import annotations

import functools
import ipaddress
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from transforms.member_id.geo import GeoLookup
from transforms.member_id.schemas import ENRICHED, MISSING_FLAGS

BOT_FAMILIES = {"Spider", "curl", "Python Requests", "Wget", "Go-http-client", "Java", "okhttp"}
# ua-parser gives these Windows versions as names; as numbers they order with the others (NT kernel version)
WINDOWS_NAMES = {"XP": (5.0, 1.0), "Vista": (6.0, 0.0), "ME": (4.0, 90.0)}
UNKNOWN_FAMILIES = {"", "Other"}


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@functools.lru_cache(maxsize=200_000)
def parse_user_agent(ua: str) -> tuple:
    """(os_name, os_version, os_major, os_minor, os_patch, browser_name, browser_version,
    b_major, b_minor, b_patch, device_model, device_brand, is_bot); '' / NaN where unknown."""
    from ua_parser import parse

    result = parse(ua or "")
    agent, os_, device = result.user_agent, result.os, result.device
    os_parts = [p for p in ((os_.major, os_.minor, os_.patch) if os_ else ()) if p not in (None, "")]
    br_parts = [p for p in ((agent.major, agent.minor, agent.patch) if agent else ()) if p not in (None, "")]
    is_bot = bool((device and device.family == "Spider") or (agent and agent.family in BOT_FAMILIES))
    os_numbers = [_num(p) for p in ((os_.major, os_.minor, os_.patch) if os_ else (None,) * 3)]
    if os_ and os_.family == "Windows" and os_.major in WINDOWS_NAMES:
        os_numbers[:2] = WINDOWS_NAMES[os_.major]
    return (os_.family if os_ else "", ".".join(os_parts), *os_numbers,
            agent.family if agent else "", ".".join(br_parts),
            *(_num(p) for p in ((agent.major, agent.minor, agent.patch) if agent else (None,) * 3)),
            (device.model or device.family or "") if device else "", (device.brand or "") if device else "", is_bot)


@functools.lru_cache(maxsize=500_000)
def ip_parts(ip: str) -> tuple:
    """(o1, o2, o3, o4, version, prefix, wide prefix): IPv4 octets, /24 and /16; IPv6 first four
    hextets, /64 and /48."""
    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        octets = [int(x) for x in str(addr).split(".")]
        return (*octets, 4, str(ipaddress.ip_network(f"{addr}/24", strict=False)),
                str(ipaddress.ip_network(f"{addr}/16", strict=False)))
    groups = [int(addr.exploded.split(":")[i], 16) for i in range(4)]
    return (*groups, 6, str(ipaddress.ip_network(f"{addr}/64", strict=False)),
            str(ipaddress.ip_network(f"{addr}/48", strict=False)))


_IP_FIELDS = ["ip_o1", "ip_o2", "ip_o3", "ip_o4", "ip_version", "ip_prefix", "ip_prefix_wide"] + GeoLookup.FIELDS
_UA_FIELDS = ["os_name", "os_version", "os_major", "os_minor", "os_patch", "browser_name", "browser_version",
              "browser_major", "browser_minor", "browser_patch", "device_model", "device_brand", "is_bot"]


def _ip_row(ip: str, geo: GeoLookup) -> tuple:
    return (*ip_parts(ip), *geo.lookup(ip))


def _blank(values) -> np.ndarray:
    return np.array([v is None or v != v or v == "" for v in values], dtype=bool)


def derive(columns: dict) -> dict:
    """Fallback evidence, missingness flags, evidence levels and the unusable reason, from the
    looked-up columns (arrays); shared by :func:`enrich` and :func:`enrich_columns`."""
    n = len(columns["ip_version"])
    text = {c: np.array(["" if v is None or v != v else str(v) for v in columns[c]], dtype=object)
            for c in ("isp", "asn", "routed_prefix", "country", "city", "district", "os_name", "os_version",
                      "browser_name", "browser_version", "ip_prefix", "ip_prefix_wide")}
    miss = {name: (text[name] == "") for name in ("city", "district", "country", "isp", "asn", "os_version",
                                                     "browser_version")}
    miss["ua_family"] = np.isin(text["os_name"], list(UNKNOWN_FAMILIES)) & np.isin(text["browser_name"],
                                                                                    list(UNKNOWN_FAMILIES))
    for name in MISSING_FLAGS:
        columns[f"miss_{name}"] = miss[name].astype("float64")
    country, district, city = text["country"], text["district"], text["city"]
    columns["place"] = np.array([f"{c}/{d}/{t}" if t else (f"{c}/{d}" if d else c)
                                 for c, d, t in zip(country, district, city)], dtype=object)
    fallback = np.where(np.asarray(columns["ip_version"], dtype="float64") == 6, text["ip_prefix_wide"],
                        text["ip_prefix"])
    columns["network"] = np.where(~miss["isp"], text["isp"],
                                  np.where(~miss["asn"], text["asn"],
                                           np.where(text["routed_prefix"] != "", text["routed_prefix"], fallback)))
    ua_level = np.where(miss["ua_family"], "none",
                        np.where(miss["browser_version"] & miss["os_version"], "family", "version"))
    place_level = np.where(~miss["city"], "city", np.where(~miss["district"], "region",
                                                           np.where(~miss["country"], "country", "none")))
    net_level = np.where(~miss["isp"], "isp", np.where(~miss["asn"], "asn", "prefix"))
    columns["evidence"] = np.array([f"ua={u};place={p};network={k}" for u, p, k in zip(ua_level, place_level, net_level)],
                                   dtype=object)
    is_bot = np.asarray(columns["is_bot"], dtype=bool)
    no_evidence = (ua_level == "none") & (place_level == "none") & (net_level == "prefix")
    columns["unusable"] = np.where(is_bot, "bot user agent (not estimated)",
                                   np.where(no_evidence, "no usable evidence: unknown User-Agent and no GeoIP record",
                                            "")).astype(object)
    order = ["isp", "asn", "country", "city", "os_version", "browser_version"]
    columns["missing_fields"] = np.array([",".join(name for name in order if miss[name][i]) for i in range(n)],
                                         dtype=object)
    columns["is_bot"] = is_bot
    return columns


def enrich(frame: pd.DataFrame, geo: GeoLookup) -> pd.DataFrame:
    out = frame[["member_id", "ts", "ip", "user_agent"]].reset_index(drop=True).copy()
    ts = pd.to_datetime(out["ts"], utc=True)
    out["ts"] = ts
    for name, attr in (("year", "year"), ("month", "month"), ("day", "day"), ("hour", "hour"),
                       ("minute", "minute"), ("second", "second"), ("weekday", "day_of_week")):
        out[name] = getattr(ts.dt, attr).astype("float64")
    out["unix_time"] = (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype("float64")
    if not len(out):
        return out.reindex(columns=ENRICHED.schema.names)
    ips = out["ip"].astype(str)
    uniq_ip = pd.unique(ips)
    ip_table = pd.DataFrame([_ip_row(i, geo) for i in uniq_ip], index=uniq_ip, columns=_IP_FIELDS)
    uas = out["user_agent"].fillna("").astype(str)
    uniq_ua = pd.unique(uas)
    ua_table = pd.DataFrame([parse_user_agent(u) for u in uniq_ua], index=uniq_ua, columns=_UA_FIELDS)
    out = pd.concat([out, ip_table.reindex(ips.values).reset_index(drop=True),
                     ua_table.reindex(uas.values).reset_index(drop=True)], axis=1)
    derived = derive({c: out[c].to_numpy() for c in _IP_FIELDS + _UA_FIELDS})
    for name in ["place", "network", "evidence", "unusable", "missing_fields", "is_bot"] + [
            f"miss_{m}" for m in MISSING_FLAGS]:
        out[name] = derived[name]
    for name in ENRICHED.schema.names:
        if name not in out:
            raise KeyError(name)
    numeric = [f.name for f in ENRICHED.schema if str(f.type) == "double"]
    out[numeric] = out[numeric].astype("float64")
    return out[ENRICHED.schema.names]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NUMERIC = {f.name for f in ENRICHED.schema if str(f.type) == "double"}


def enrich_columns(times: list[datetime], ips: list[str], user_agents: list[str], geo: GeoLookup) -> dict:
    """The enriched columns of a few accesses as arrays, without pandas (the API's hot path):
    the same values as :func:`enrich` (``tests/member_id/test_fast_path.py``) for every column
    the estimator reads, plus ``missing_fields``, ``evidence``, ``unusable`` and ``is_bot``."""
    utc = [t.astimezone(timezone.utc) if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in times]
    columns = {name: np.array([float(getattr(t, attr)) for t in utc], dtype="float64") for name, attr in (
        ("year", "year"), ("month", "month"), ("day", "day"), ("hour", "hour"), ("minute", "minute"),
        ("second", "second"))}
    columns["weekday"] = np.array([float(t.weekday()) for t in utc], dtype="float64")
    micros = np.array([(t - _EPOCH) // timedelta(microseconds=1) for t in utc], dtype=np.int64)
    columns["unix_time"] = micros / 10**6  # as pandas on microsecond timestamps (the lake's unit)
    for names, rows in ((_IP_FIELDS, [_ip_row(ip, geo) for ip in ips]),
                        (_UA_FIELDS, [parse_user_agent(ua or "") for ua in user_agents])):
        for j, name in enumerate(names):
            values = [row[j] for row in rows]
            columns[name] = np.array(values, dtype="float64" if name in _NUMERIC else object)
    columns["user_agent"] = np.array(["" if u is None else u for u in user_agents], dtype=object)
    return derive(columns)
