"""Access logs of one day → rows (member_id, ts, ip, user_agent); bad lines are quarantined.

Inputs: every file under ``mid_log_dir`` (``*.log[.gz]``, ``*.txt[.gz]``, ``*.csv``, ``*.parquet``),
each holding one day or many (an input index records which UTC days each file holds, so a day's
run reads only those files and lines); logs in combined log format
(``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`` plus optional extra quoted fields,
e.g. a cookie), or ``access-YYYY-MM-DD.csv`` / ``.parquet`` with columns member_id, ts, ip,
user_agent. Where the member comes from (:class:`MemberSource`, setting ``mid_member_field``):

* ``user``: the ``%u`` field (HTTP auth user, or what the application logs there);
* ``header:<name>``: a request header logged as an extra quoted field (``"%{X-Member-Id}i"``);
  ``mid_log_extra_fields`` names the extra fields in order (e.g. ``X-Member-Id,Cookie``). In
  table inputs, the column ``<name>``;
* ``cookie:<name>``: a cookie in the ``Cookie`` extra field (or in any extra field when the
  fields are not named);
* ``column:<name>``: a column of table inputs;
* ``map:<file>``: a separate CSV ``request_id,member_id`` joined on the request id, which the
  log holds in the extra field (or table column) named by ``mid_request_id_field``
  (e.g. ``"%{UNIQUE_ID}e"`` named ``request_id``). Requests absent from the map are anonymous.
"""
from __future__ import annotations

import ipaddress
import logging
import re
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from transforms.common.inputs import (InputIndex, NothingToDo, describe_coverage, modified_day, read_day_lines,
                                      scan_lines, scan_table, table_days)
from transforms.common.quarantine import Quarantine
from transforms.common.text import decode_bytes

log = logging.getLogger(__name__)
_Q = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(rf'^(\S+) (\S+) (\S+) \[([^\]]+)\] {_Q} (\d{{3}}|-) (\d+|-) {_Q} {_Q}(.*)$')
EXTRA = re.compile(_Q)
COLUMNS = ["member_id", "ts", "ip", "user_agent", "source", "line_no"]


SUFFIXES = (".log", ".log.gz", ".txt", ".txt.gz", ".csv", ".parquet")
_STAMP = re.compile(rb"\[(\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")


def input_files(log_dir: str) -> list[Path]:
    root = Path(log_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"access-log folder {log_dir} does not exist")
    return sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".") and p.name.endswith(SUFFIXES))


def _line_day(line: bytes):
    """UTC day of a combined-log line, from its ``[17/May/2015:10:05:03 +0000]`` field."""
    match = _STAMP.search(line)
    if not match:
        return None
    stamp = datetime.strptime(match.group(1).decode("ascii"), "%d/%b/%Y:%H:%M:%S %z")
    return stamp.astimezone(timezone.utc).strftime("%Y-%m-%d")


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _table_days(path: Path) -> pd.Series:
    ts = pd.to_datetime(_read_table(path).get("ts"), utc=True, errors="coerce")
    return ts.dt.strftime("%Y-%m-%d").where(ts.notna())


def input_index(lake=None) -> InputIndex:
    """Manifests of the access-log files: which UTC days each holds (see transforms.common.inputs)."""
    def scan(path: Path) -> dict:
        if path.suffix in (".csv", ".parquet"):
            try:
                return scan_table(path, _table_days)
            except Exception as error:  # noqa: BLE001 - unreadable table: quarantined as one row
                return {"days": {modified_day(path): {"rows": 1, "ranges": None}}, "has_header": False,
                        "seekable": False, "unreadable": f"{type(error).__name__}: {error}"[:500]}
        return scan_lines(path, _line_day)
    return InputIndex(lake, "member_id", scan)


class MemberSourceError(ValueError):
    """A member-field setting that cannot work (checked before any line is read)."""


class MemberSource:
    def __init__(self, member_field: str = "user", extra_fields: str = "", request_id_field: str = "request_id"):
        self.kind, _, self.name = member_field.partition(":")
        self.extra = [f.strip().lower() for f in extra_fields.split(",") if f.strip()]
        self.request_id_field = request_id_field.strip()
        self.mapping = None
        if self.kind not in ("user", "header", "cookie", "column", "map") or (self.kind != "user" and not self.name):
            raise MemberSourceError(f"mid_member_field={member_field!r}: expected user, header:<name>, cookie:<name>, "
                                    "column:<name> or map:<csv file>")
        if self.kind == "map":
            path = Path(self.name)
            if not path.is_file():
                raise MemberSourceError(f"member mapping file {path} does not exist")
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            if not {"request_id", "member_id"} <= set(table.columns):
                raise MemberSourceError(f"member mapping file {path} needs the columns request_id,member_id")
            self.mapping = dict(zip(table["request_id"], table["member_id"]))

    def _extra(self, extras: list[str], name: str) -> str | None:
        """The extra quoted field called ``name`` (mid_log_extra_fields), or None when not named."""
        if name.lower() in self.extra:
            i = self.extra.index(name.lower())
            return extras[i] if i < len(extras) else ""
        return None

    def from_combined(self, user: str, extras_text: str) -> str:
        if self.kind == "user":
            return user
        extras = EXTRA.findall(extras_text)
        if self.kind == "header":
            value = self._extra(extras, self.name)
            if value is None:
                raise MemberSourceError(f"mid_member_field=header:{self.name} but mid_log_extra_fields "
                                        f"({','.join(self.extra) or 'empty'}) does not name the log field holding it")
            return value
        if self.kind == "cookie":
            cookie = self._extra(extras, "cookie")
            for field in ([cookie] if cookie is not None else extras):
                for part in field.split(";"):
                    key, _, value = part.strip().partition("=")
                    if key == self.name:
                        return value
            return ""
        if self.kind == "map":
            request_id = self._extra(extras, self.request_id_field)
            if request_id is None:
                raise MemberSourceError(f"mid_member_field=map:… needs mid_log_extra_fields to name the field "
                                        f"{self.request_id_field!r} (mid_request_id_field) that holds the request id")
            return self.mapping.get(request_id, "")
        raise MemberSourceError(f"column:{self.name} applies to CSV/Parquet inputs, not to combined logs")

    def from_record(self, rec: dict):
        if self.kind in ("column", "header"):
            return rec.get(self.name)
        if self.kind == "map":
            return self.mapping.get(str(rec.get(self.request_id_field, "")), "")
        return rec.get("member_id")


def _source(member_field) -> MemberSource:
    return member_field if isinstance(member_field, MemberSource) else MemberSource(member_field)


def check_ip(raw: str) -> str | None:
    """Normalised address, or None with the reason left to the caller (not an address / not public)."""
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


def validate_ip(raw: str) -> tuple[str | None, str | None]:
    """(normalised address, None) for a public address, else (None, reason). The ingest and the
    estimation API both use it, so the API refuses exactly what the ingest quarantines."""
    ip = check_ip(raw)
    if ip is None:
        return None, "invalid ip address"
    if not ipaddress.ip_address(ip).is_global:
        return None, "private or reserved ip address"
    return ip, None


def _accept(row: dict, ds: str, quarantine: Quarantine, source: str) -> bool:
    ip, reason = validate_ip(str(row["ip"]))
    if ip is None:
        quarantine.add(row, reason, source)
        return False
    if row["ts"].strftime("%Y-%m-%d") != ds:
        quarantine.add(row, "timestamp outside the partition day", source)
        return False
    row["ip"] = ip
    return True


def parse_combined(lines, ds: str, member_field: str, quarantine: Quarantine, source: str) -> list[dict]:
    """Rows of combined-log ``lines`` (texts, or (line number, text) pairs); every line that is
    not kept is quarantined."""
    source_of_member = _source(member_field)
    rows = []
    for line_no, line in enumerate(lines, 1):
        if isinstance(line, tuple):
            line_no, line = line
        line = line.rstrip("\r\n")
        if not line.strip():
            quarantine.add(line, "blank line", f"{source}:{line_no}")
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
        member = source_of_member.from_combined(user, extras)
        row = {"member_id": "" if member in ("-", None) else member, "ts": ts, "ip": host,
               "user_agent": ua.replace('\\"', '"'), "source": source, "line_no": line_no}
        if _accept(row, ds, quarantine, f"{source}:{line_no}"):
            rows.append(row)
    return rows


def parse_table(frame: pd.DataFrame, ds: str, member_field: str, quarantine: Quarantine, source: str) -> list[dict]:
    source_of_member = _source(member_field)
    rows = []
    for line_no, rec in enumerate(frame.to_dict("records"), 1):
        ts = pd.to_datetime(rec.get("ts"), utc=True, errors="coerce")
        if pd.isna(ts) or not rec.get("ip") or rec.get("user_agent") is None:
            quarantine.add(rec, "missing or invalid ts/ip/user_agent", f"{source}:{line_no}")
            continue
        member = source_of_member.from_record(rec)
        row = {"member_id": "" if member is None or pd.isna(member) or member == "-" else str(member),
               "ts": ts.to_pydatetime(), "ip": str(rec["ip"]), "user_agent": str(rec["user_agent"]),
               "source": source, "line_no": line_no}
        if _accept(row, ds, quarantine, f"{source}:{line_no}"):
            rows.append(row)
    return rows


def read_day(log_dir: str, ds: str, member_field, quarantine: Quarantine,
             index: InputIndex | None = None) -> tuple[pd.DataFrame, dict]:
    """Accesses of UTC day ``ds`` from every log file that holds it (one file per day, or many
    days per file), and the ingest counts; bad lines quarantined."""
    member_field = _source(member_field)  # a bad setting fails here, before any file is read
    index = index or input_index()
    files = input_files(log_dir)
    held = index.files_for(files, ds)
    if not held:
        raise NothingToDo(f"no access log in {log_dir} holds a line of {ds} "
                          f"(the {len(files)} files cover {describe_coverage(index.coverage(files))})")
    rows, read, repaired = [], 0, 0
    for path, manifest in held:
        if manifest.get("unreadable"):
            quarantine.add(path.name, f"unreadable file: {manifest['unreadable']}", path.name)
            read += 1
            continue
        if path.suffix in (".csv", ".parquet"):
            table = _read_table(path)
            table = table[(table_days(_table_days(path), modified_day(path)) == ds).to_numpy()]
            read += len(table)
            rows += parse_table(table, ds, member_field, quarantine, path.name)
            continue
        lines = []
        for number, raw in read_day_lines(path, manifest, ds, _line_day):
            text, clean = decode_bytes(raw)
            repaired += not clean
            lines.append((number, text))
        read += len(lines)
        rows += parse_combined(lines, ds, member_field, quarantine, path.name)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    counts = quarantine.summary(read, len(frame), f"accesses of {ds}", repaired=repaired)
    return frame, counts
