"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS) for the member-ID API.

Its schema states what it accepts as precisely as JSON Schema can: address formats, an RFC 3339
time pattern with years 1995-2099, a User-Agent pattern without control characters. What JSON
Schema cannot state (documented in the field descriptions) is that the address must be public
(the ingest's ``validate_ip``) and the time not in the future nor an impossible date. Positive
cases (data the schema promises is valid) that break those documented rules are not generated;
negative cases are left alone (the API must refuse them, and does).

``filter_case`` drops such positive cases (single POSTs and batch items) where they are generated. A few still reached the wire
in some runs (schemathesis 4.32.5's fuzzing phase re-sends values it has seen, e.g. ``::``, after
the filter), so ``before_call`` repairs those last ones to a public address / a past time and
counts them in ``$ST_REPAIRED_LOG`` (the test prints the count)."""
import os

import schemathesis

from transforms.member_id.api.app import check_access_time
from transforms.member_id.ingest import validate_ip


def _accesses(case) -> list[dict]:
    """The accesses of a positive estimation case: the body of a single POST, the items of a batch."""
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive or case.operation.method.upper() != "POST":
        return []
    body = case.body if isinstance(case.body, dict) else {}
    if case.operation.path == "/v1/estimations":
        return [body]
    if case.operation.path == "/v1/estimation-batches" and isinstance(body.get("requests"), list):
        return [item for item in body["requests"] if isinstance(item, dict)]
    return []


def _broken(access: dict) -> list[str]:
    """The documented non-schema rules an access breaks."""
    broken = []
    if isinstance(access.get("ip"), str) and validate_ip(access["ip"])[0] is None:
        broken.append("ip")
    if isinstance(access.get("access_time"), str):
        try:
            check_access_time(access["access_time"])
        except ValueError:
            broken.append("access_time")
    return broken


def _broken_rules(case) -> list[str]:
    return [field for access in _accesses(case) for field in _broken(access)]


@schemathesis.hook
def filter_case(context, case) -> bool:
    return not _broken_rules(case)


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    broken = _broken_rules(case)
    if not broken:
        return
    repaired = {"ip": "81.2.69.160", "access_time": "2026-03-09T12:34:56Z"}
    for access in _accesses(case):  # the body's own dicts: repaired in place
        access.update({field: repaired[field] for field in _broken(access)})
    if isinstance(kwargs.get("json"), dict):
        kwargs["json"] = case.body
    if os.environ.get("ST_REPAIRED_LOG"):
        with open(os.environ["ST_REPAIRED_LOG"], "a") as log:
            log.write(",".join(broken) + "\n")
