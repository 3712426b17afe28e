"""Registrable domains from an offline public suffix list (bundled with ``publicsuffixlist``,
or a newer copy the operator points ``TRACKSCOPE_PUBLIC_SUFFIX_LIST`` at)."""
from __future__ import annotations

import functools
import os
from urllib.parse import urlsplit


@functools.lru_cache(maxsize=1)
def _psl():
    from publicsuffixlist import PublicSuffixList

    path = os.environ.get("TRACKSCOPE_PUBLIC_SUFFIX_LIST")
    if path:
        with open(path, encoding="utf-8") as source:
            return PublicSuffixList(source)
    return PublicSuffixList()


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


@functools.lru_cache(maxsize=100_000)
def registrable_domain(host: str) -> str:
    """eTLD+1 of ``host`` (``www.example.co.jp`` → ``example.co.jp``); the host itself for IPs."""
    host = host.lower().rstrip(".")
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return host
    return _psl().privatesuffix(host) or host
