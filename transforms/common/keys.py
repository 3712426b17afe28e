"""Partition keys and lake paths are validated before any I/O.

A partition key (``ds``, ``crawl_id``, any value that becomes a folder name) comes from users:
trigger confs, CLI arguments, input file names. It is accepted only if it matches a strict
pattern, so it can never name a folder outside its dataset (``..``, ``/``, ``\\``, NUL, empty,
over-long or non-ASCII values are refused with :class:`InvalidPartitionKey`).
"""
from __future__ import annotations

import re
from datetime import date

# JSON-schema patterns for DAG Params (the same rules as the checks below).
KEY_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_KEY = re.compile(KEY_PATTERN)
_DAY = re.compile(DAY_PATTERN)
# A path segment inside the lake (file or folder name): the key alphabet plus "=" (key=value),
# "_" first for internal folders; never a leading dot, so "." and ".." cannot occur.
_SEGMENT = re.compile(r"^[A-Za-z0-9_=@+-][A-Za-z0-9._=@+,-]{0,199}$")


class InvalidPartitionKey(ValueError):
    """A partition key or lake path that could escape its dataset, refused before any I/O."""


def check_key(value, what: str = "partition key") -> str:
    """``value`` as a string if it is a safe partition key, else :class:`InvalidPartitionKey`."""
    text = value if isinstance(value, str) else str(value)
    if not _KEY.match(text):
        raise InvalidPartitionKey(
            f"{what} {text[:80]!r} is not allowed: use 1-100 ASCII letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..'")
    return text


def check_day(value, what: str = "ds") -> str:
    """``value`` if it is a real calendar day written YYYY-MM-DD, else :class:`InvalidPartitionKey`."""
    text = value if isinstance(value, str) else str(value)
    try:
        if not _DAY.match(text):
            raise ValueError
        date.fromisoformat(text)
    except ValueError:
        raise InvalidPartitionKey(f"{what} {text[:80]!r} is not a day YYYY-MM-DD") from None
    return text


def check_relpath(path: str) -> str:
    """A relative lake path whose every segment is a safe name (no traversal, no absolute path)."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path or "\x00" in path:
        raise InvalidPartitionKey(f"lake path {str(path)[:80]!r} is not a relative path")
    for segment in path.split("/"):
        if not _SEGMENT.match(segment):
            raise InvalidPartitionKey(f"lake path {path[:120]!r}: segment {segment[:80]!r} is not allowed")
    return path
