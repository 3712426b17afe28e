"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS) for the member-ID API.

Its schema states what it accepts as precisely as JSON Schema can: address formats, an RFC 3339
time pattern with years 1995-2099, a User-Agent pattern without control characters. What JSON
Schema cannot state (documented in the field descriptions) is that the address must be public
(the ingest's ``validate_ip``) and the time not in the future nor an impossible date. Positive
cases (data the schema promises is valid) that break those documented rules are not generated;
negative cases are left alone (the API must refuse them, and does)."""
import schemathesis

from transforms.member_id.api.app import check_access_time
from transforms.member_id.ingest import validate_ip


@schemathesis.hook
def filter_case(context, case) -> bool:
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive:
        return True
    if case.operation.method.upper() != "POST" or case.operation.path != "/v1/estimations":
        return True
    body = case.body if isinstance(case.body, dict) else {}
    if isinstance(body.get("ip"), str) and validate_ip(body["ip"])[0] is None:
        return False
    if isinstance(body.get("access_time"), str):
        try:
            check_access_time(body["access_time"])
        except ValueError:
            return False
    return True
