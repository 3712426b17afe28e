"""The 20 fingerprint attributes of the paper (Table 2), canonical strings and their hashes."""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

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
    if name == "screen":
        return normalise_screen(value)
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


@dataclass(frozen=True)
class UserAgent:
    """What the linkers need from a UA: browser family and major version, OS family and major."""

    family: str  # lower-case ua-parser family: "chrome", "chrome mobile ios", "firefox ios", "google", ...
    major: int  # -1 when unknown
    os_family: str  # "windows", "ios", "mac os x", "android", ... ("" when unknown)
    os_major: str


def _int(text) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return -1


@functools.lru_cache(maxsize=200_000)
def parse_ua(ua: str | None) -> UserAgent:
    """Parse with ``ua-parser`` (maintained regexes: CriOS, FxiOS, EdgiOS, GSA, in-app browsers,
    Trident, …). A UA it does not know gives family "other" and version -1."""
    if not ua:
        return UserAgent("", -1, "", "")
    from ua_parser import parse

    result = parse(ua)
    agent, os_ = result.user_agent, result.os
    family = agent.family.lower() if agent and agent.family else "other"
    major = _int(agent.major) if agent else -1
    return UserAgent(family, major if family != "other" else -1, os_.family.lower() if os_ else "",
                     str(os_.major or "") if os_ else "")


def parse_user_agent(ua: str | None) -> tuple[str, int, str]:
    """(browser family, major version, OS "family major") — enough to see a version going backwards."""
    parsed = parse_ua(ua)
    return parsed.family, parsed.major, f"{parsed.os_family} {parsed.os_major}".strip()


_SCREEN = re.compile(r"^\D*?(\d{2,5})\s*[x×X*,:/ ]\s*(\d{2,5})(?:\s*(?:[x×X*,:/@ ]|px)?\s*(\d{1,2})\s*(?:bit|bpp|-bit)?)?\D*$")


def parse_screen(value) -> tuple[int, int, int] | None:
    """(width, height, colour depth or -1) from the common forms: ``414x896``, ``414x896x24``,
    ``414 × 896``, ``414*896``, ``414,896``, ``[414, 896, 24]``, ``1920X1080@24``, ``414x896 24-bit``.
    None when the value is not a screen."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        numbers = [_int(v) for v in value]
        if len(numbers) in (2, 3) and all(n >= 0 for n in numbers):
            return numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else -1
        return None
    if isinstance(value, dict):
        width = _int(value.get("width", value.get("w")))
        height = _int(value.get("height", value.get("h")))
        depth = _int(value.get("colorDepth", value.get("depth", -1)))
        return (width, height, depth) if width > 0 and height > 0 else None
    match = _SCREEN.match(str(value).strip())
    if not match:
        return None
    width, height, depth = match.groups()
    return int(width), int(height), int(depth) if depth else -1


def normalise_screen(value) -> str | None:
    """Canonical ``WxH`` or ``WxHxDepth``; a value that is no screen is kept as it came (text)."""
    parsed = parse_screen(value)
    if parsed is None:
        text = _SPACES.sub(" ", str(value)).strip() if value is not None else ""
        return text or None
    width, height, depth = parsed
    return f"{width}x{height}" + (f"x{depth}" if depth >= 0 else "")
