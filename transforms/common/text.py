"""Text from the outside world made safe to store: every writer (Parquet, JSON, SQL) can take it."""
from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def safe_text(value: str) -> str:
    """``value`` with NUL and lone surrogates replaced by U+FFFD (Parquet, PostgreSQL and JSON
    encoders refuse them); other text unchanged."""
    if not isinstance(value, str):
        value = str(value)
    return _UNSAFE.sub("\ufffd", value) if _UNSAFE.search(value) else value


def safe_json(value):
    """A parsed JSON document with :func:`safe_text` applied to every string (keys too): JSON
    escapes can carry lone surrogates and NUL that no writer accepts."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list):
        return [safe_json(v) for v in value]
    if isinstance(value, dict):
        return {safe_text(k): safe_json(v) for k, v in value.items()}
    return value


def decode_bytes(raw: bytes) -> tuple[str, bool]:
    """(text, was_clean): UTF-8 decoded with invalid bytes replaced, and whether none was."""
    try:
        return safe_text(raw.decode("utf-8")), True
    except UnicodeDecodeError:
        return safe_text(raw.decode("utf-8", errors="replace")), False
