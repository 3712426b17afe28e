"""Access → SPEC §S3 features: time parts, IP octets/prefix, GeoIP fields, parsed User-Agent.

Lookups are cached per distinct IP and UA (logs repeat them a lot). An access whose ISP, city,
OS version, OS major version or browser version cannot be derived is kept but marked in
``missing_fields``: the estimator answers ``error`` for it and the model never trains on it.
"""
from __future__ import annotations

import functools
import ipaddress
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from transforms.member_id.geo import GeoLookup
from transforms.member_id.schemas import ENRICHED

REQUIRED = ["isp", "city", "os_version", "os_major", "browser_version"]
BOT_FAMILIES = {"Spider", "curl", "Python Requests", "Wget", "Go-http-client", "Java", "okhttp"}


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@functools.lru_cache(maxsize=200_000)
def parse_user_agent(ua: str) -> tuple:
    """(os_name, os_version, os_major, os_minor, os_patch, browser_name, browser_version,
    b_major, b_minor, b_patch, device_model, device_brand, is_bot)"""
    from ua_parser import parse

    result = parse(ua)
    agent, os_, device = result.user_agent, result.os, result.device
    os_parts = [p for p in ((os_.major, os_.minor, os_.patch) if os_ else ()) if p not in (None, "")]
    br_parts = [p for p in ((agent.major, agent.minor, agent.patch) if agent else ()) if p not in (None, "")]
    is_bot = bool((device and device.family == "Spider") or (agent and agent.family in BOT_FAMILIES))
    return (os_.family if os_ else "", ".".join(os_parts), *(_num(p) for p in ((os_.major, os_.minor, os_.patch) if os_ else (None,) * 3)),
            agent.family if agent else "", ".".join(br_parts),
            *(_num(p) for p in ((agent.major, agent.minor, agent.patch) if agent else (None,) * 3)),
            (device.model or device.family or "") if device else "", (device.brand or "") if device else "", is_bot)


@functools.lru_cache(maxsize=500_000)
def ip_parts(ip: str) -> tuple:
    """(o1, o2, o3, o4, version, network prefix): IPv4 octets and /24, IPv6 first four hextets and /64."""
    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        octets = [int(x) for x in str(addr).split(".")]
        return (*octets, 4, str(ipaddress.ip_network(f"{addr}/24", strict=False)))
    groups = [int(addr.exploded.split(":")[i], 16) for i in range(4)]
    return (*groups, 6, str(ipaddress.ip_network(f"{addr}/64", strict=False)))


def enrich(frame: pd.DataFrame, geo: GeoLookup) -> pd.DataFrame:
    out = frame[["member_id", "ts", "ip", "user_agent"]].reset_index(drop=True).copy()
    ts = pd.to_datetime(out["ts"], utc=True)
    out["ts"] = ts
    for name, attr in (("year", "year"), ("month", "month"), ("day", "day"), ("hour", "hour"),
                       ("minute", "minute"), ("second", "second"), ("weekday", "day_of_week")):
        out[name] = getattr(ts.dt, attr).astype("float64")
    out["unix_time"] = (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype("float64")

    ips = out["ip"].astype(str)
    uniq_ip = pd.unique(ips)
    ip_table = pd.DataFrame([(*ip_parts(i), *geo.lookup(i)) for i in uniq_ip], index=uniq_ip, columns=[
        "ip_o1", "ip_o2", "ip_o3", "ip_o4", "ip_version", "ip_prefix",
        "isp", "country", "city", "district", "latitude", "longitude"])
    uas = out["user_agent"].astype(str)
    uniq_ua = pd.unique(uas)
    ua_table = pd.DataFrame([parse_user_agent(u) for u in uniq_ua], index=uniq_ua, columns=[
        "os_name", "os_version", "os_major", "os_minor", "os_patch", "browser_name", "browser_version",
        "browser_major", "browser_minor", "browser_patch", "device_model", "device_brand", "is_bot"])
    if len(out):
        out = pd.concat([out, ip_table.reindex(ips.values).reset_index(drop=True),
                         ua_table.reindex(uas.values).reset_index(drop=True)], axis=1)
    else:
        out = out.reindex(columns=ENRICHED.schema.names)
    missing = pd.Series([""] * len(out), index=out.index, dtype="object")
    for name in REQUIRED:
        col = out[name]
        absent = col.isna() if pd.api.types.is_numeric_dtype(col) else (col.isna() | (col.astype(str) == ""))
        missing = missing.where(~absent, missing + np.where(missing == "", "", ",") + name)
    out["missing_fields"] = missing
    out["is_bot"] = out["is_bot"].astype(bool)
    for name in ENRICHED.schema.names:
        if name not in out:
            raise KeyError(name)
    numeric = [f.name for f in ENRICHED.schema if str(f.type) == "double"]
    out[numeric] = out[numeric].astype("float64")
    return out[ENRICHED.schema.names]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NUMERIC = {f.name for f in ENRICHED.schema if str(f.type) == "double"}
_IP_FIELDS = ["ip_o1", "ip_o2", "ip_o3", "ip_o4", "ip_version", "ip_prefix",
              "isp", "country", "city", "district", "latitude", "longitude"]
_UA_FIELDS = ["os_name", "os_version", "os_major", "os_minor", "os_patch", "browser_name", "browser_version",
              "browser_major", "browser_minor", "browser_patch", "device_model", "device_brand", "is_bot"]


def enrich_columns(times: list[datetime], ips: list[str], user_agents: list[str], geo: GeoLookup) -> dict:
    """The enriched columns of a few accesses as arrays, without pandas (the API's hot path):
    the same values as :func:`enrich` (``tests/member_id/test_fast_path.py``) for every column
    the estimator reads, plus ``missing_fields`` and ``is_bot``."""
    utc = [t.astimezone(timezone.utc) if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in times]
    columns = {name: np.array([float(getattr(t, attr)) for t in utc], dtype="float64") for name, attr in (
        ("year", "year"), ("month", "month"), ("day", "day"), ("hour", "hour"), ("minute", "minute"),
        ("second", "second"))}
    columns["weekday"] = np.array([float(t.weekday()) for t in utc], dtype="float64")
    micros = np.array([(t - _EPOCH) // timedelta(microseconds=1) for t in utc], dtype=np.int64)
    columns["unix_time"] = micros / 10**6  # as pandas on microsecond timestamps (the lake's unit)
    for names, rows in ((_IP_FIELDS, [(*ip_parts(ip), *geo.lookup(ip)) for ip in ips]),
                        (_UA_FIELDS, [parse_user_agent(ua) for ua in user_agents])):
        for j, name in enumerate(names):
            values = [row[j] for row in rows]
            columns[name] = np.array(values, dtype="float64" if name in _NUMERIC else object)
    columns["user_agent"] = np.array(user_agents, dtype=object)
    columns["is_bot"] = columns["is_bot"].astype(bool)
    missing = []
    for i in range(len(ips)):
        absent = [name for name in REQUIRED if _absent(columns[name][i])]
        missing.append(",".join(absent))
    columns["missing_fields"] = np.array(missing, dtype=object)
    return columns


def _absent(value) -> bool:
    return value is None or value != value or value == ""
