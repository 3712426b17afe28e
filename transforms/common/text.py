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


def decode_bytes(raw: bytes) -> tuple[str, bool]:
    """(text, was_clean): UTF-8 decoded with invalid bytes replaced, and whether none was."""
    try:
        return safe_text(raw.decode("utf-8")), True
    except UnicodeDecodeError:
        return safe_text(raw.decode("utf-8", errors="replace")), False
