"""The 20 fingerprint attributes of the paper (Table 2), canonical strings and their hashes."""
from __future__ import annotations

import hashlib
import re

import ssdeep

# Fixed order = the paper's Table 2 order; the canonical string concatenates them in this order.
ATTRIBUTES = [
    "plugins", "global_ip", "js_user_agent", "fonts", "http_user_agent", "private_ip", "screen", "sse2",
    "accept_language", "accept", "origin", "connection", "referer", "device_pixel_ratio",
    "accept_encoding", "touch", "timezone", "accept_charset", "local_storage", "session_storage",
]
LIST_SEPARATORS = re.compile(r"\s*[;,\n]\s*")
_SPACES = re.compile(r"\s+")


def normalise_fonts(value) -> str:
    """Sorted, de-duplicated font names (Flash sorts them since Flash Player 14: the paper sorts all)."""
    items = value if isinstance(value, (list, tuple)) else LIST_SEPARATORS.split(str(value))
    return ",".join(sorted({_SPACES.sub(" ", str(i)).strip() for i in items if str(i).strip()}))


def normalise_plugins(value) -> str:
    """Plugins as a sorted set of "name version" tokens: browsers enumerate them in arbitrary order."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(";")
    return ";".join(sorted({_SPACES.sub(" ", str(i)).strip() for i in items if str(i).strip()}))


def normalise(name: str, value):
    if value is None:
        return None
    if name == "fonts":
        return normalise_fonts(value) or None
    if name == "plugins":
        return normalise_plugins(value) or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _SPACES.sub(" ", str(value)).strip()
    return text or None  # an empty header and an absent one are the same observation (CSV can't tell them apart)


def canonical_string(record: dict) -> str:
    """``name=value`` lines in the fixed attribute order; a missing attribute is an empty value."""
    return "\n".join(f"{name}={record.get(name) or ''}" for name in ATTRIBUTES)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def fuzzy_hash(text: str) -> str:
    return ssdeep.hash(text)


_UA = re.compile(r"(Edge|Edg|OPR|Chrome|Firefox|Version|MSIE|rv)[/ :](\d+)")


def parse_user_agent(ua: str | None) -> tuple[str, int, str]:
    """(browser family, major version, OS token) — enough to see a version going backwards."""
    if not ua:
        return "", -1, ""
    os_match = re.search(r"\(([^;)]+)", ua)
    os_token = os_match.group(1).strip() if os_match else ""
    found = dict((name, int(v)) for name, v in _UA.findall(ua))
    for family, key in (("edge", "Edge"), ("edge", "Edg"), ("opera", "OPR"), ("chrome", "Chrome"),
                        ("firefox", "Firefox"), ("ie", "MSIE"), ("ie", "rv")):
        if key in found:
            if family == "ie" and "Trident" not in ua and key == "rv":
                continue
            return family, found[key], os_token
    if "Safari" in ua and "Version" in found:
        return "safari", found["Version"], os_token
    return "other", -1, os_token
