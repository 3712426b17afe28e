"""Access logs of one day → rows (member_id, ts, ip, user_agent); bad lines are quarantined.

Inputs under ``mid_log_dir``: ``access-YYYY-MM-DD.log[.gz]`` in combined log format
(``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`` plus optional extra quoted fields,
e.g. a cookie), or ``access-YYYY-MM-DD.csv`` / ``.parquet`` with columns member_id, ts, ip,
user_agent. The member comes from ``%u`` (``user``), a cookie (``cookie:<name>``, searched in the
extra quoted fields) or a column (``column:<name>``).
"""
from __future__ import annotations

import gzip
import ipaddress
import logging
import re
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine

log = logging.getLogger(__name__)
_Q = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(rf'^(\S+) (\S+) (\S+) \[([^\]]+)\] {_Q} (\d{{3}}|-) (\d+|-) {_Q} {_Q}(.*)$')
EXTRA = re.compile(_Q)
COLUMNS = ["member_id", "ts", "ip", "user_agent", "source", "line_no"]


def find_input(log_dir: str, ds: str) -> Path | None:
    for suffix in (".log", ".log.gz", ".csv", ".parquet"):
        path = Path(log_dir) / f"access-{ds}{suffix}"
        if path.exists():
            return path
    return None


def _member_from_extras(extras: str, member_field: str) -> str:
    name = member_field.split(":", 1)[1]
    for field in EXTRA.findall(extras):
        for part in field.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
    return ""


def check_ip(raw: str) -> str | None:
    """Normalised address, or None with the reason left to the caller (not an address / not public)."""
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


def _accept(row: dict, ds: str, quarantine: Quarantine, source: str) -> bool:
    ip = check_ip(str(row["ip"]))
    if ip is None:
        quarantine.add(row, "invalid ip address", source)
        return False
    if not ipaddress.ip_address(ip).is_global:
        quarantine.add(row, "private or reserved ip address", source)
        return False
    if row["ts"].strftime("%Y-%m-%d") != ds:
        quarantine.add(row, "timestamp outside the partition day", source)
        return False
    row["ip"] = ip
    return True


def parse_combined(lines, ds: str, member_field: str, quarantine: Quarantine, source: str) -> list[dict]:
    rows = []
    for line_no, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        match = COMBINED.match(line)
        if not match:
            quarantine.add(line, "unparseable log line", f"{source}:{line_no}")
            continue
        host, _ident, user, stamp, _req, _status, _size, _ref, ua, extras = match.groups()
        try:
            ts = datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").astimezone(timezone.utc)
        except ValueError:
            quarantine.add(line, "unparseable timestamp", f"{source}:{line_no}")
            continue
        member = user if member_field == "user" else _member_from_extras(extras, member_field)
        row = {"member_id": "" if member in ("-", None) else member, "ts": ts, "ip": host,
               "user_agent": ua.replace('\\"', '"'), "source": source, "line_no": line_no}
        if _accept(row, ds, quarantine, f"{source}:{line_no}"):
            rows.append(row)
    return rows


def parse_table(frame: pd.DataFrame, ds: str, member_field: str, quarantine: Quarantine, source: str) -> list[dict]:
    member_col = member_field.split(":", 1)[1] if member_field.startswith("column:") else "member_id"
    rows = []
    for line_no, rec in enumerate(frame.to_dict("records"), 1):
        ts = pd.to_datetime(rec.get("ts"), utc=True, errors="coerce")
        if pd.isna(ts) or not rec.get("ip") or rec.get("user_agent") is None:
            quarantine.add(rec, "missing or invalid ts/ip/user_agent", f"{source}:{line_no}")
            continue
        member = rec.get(member_col)
        row = {"member_id": "" if member is None or pd.isna(member) or member == "-" else str(member),
               "ts": ts.to_pydatetime(), "ip": str(rec["ip"]), "user_agent": str(rec["user_agent"]),
               "source": source, "line_no": line_no}
        if _accept(row, ds, quarantine, f"{source}:{line_no}"):
            rows.append(row)
    return rows


def read_day(log_dir: str, ds: str, member_field: str, quarantine: Quarantine) -> pd.DataFrame:
    path = find_input(log_dir, ds)
    if path is None:
        raise FileNotFoundError(f"no access log for {ds} under {log_dir} (access-{ds}.log|.log.gz|.csv|.parquet)")
    if path.suffix == ".parquet":
        rows = parse_table(pd.read_parquet(path), ds, member_field, quarantine, path.name)
    elif path.suffix == ".csv":
        rows = parse_table(pd.read_csv(path, dtype=str, keep_default_na=False), ds, member_field, quarantine, path.name)
    else:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            rows = parse_combined(handle, ds, member_field, quarantine, path.name)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    log.info("%s: %d accesses kept, %d quarantined %s", path.name, len(frame), len(quarantine), quarantine.counts())
    return frame
