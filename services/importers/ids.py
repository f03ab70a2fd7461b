"""Deterministic event ids derived from a platform's own ids.

The same platform object always maps to the same event id, so importing a file again, or a file
that overlaps an earlier one, sends ids the pipeline has seen and counts nothing twice.
"""
from __future__ import annotations

import hashlib

MAX_ID_CHARS = 128  # contract §1


def event_id(platform: str, *parts: str) -> str:
    """``platform:part:part``; over the contract's 128 characters, a hash of that text instead
    (still deterministic, still prefixed with the platform so it stays readable)."""
    text = ":".join((platform, *parts))
    if len(text) <= MAX_ID_CHARS:
        return text
    return f"{platform}:sha256:{hashlib.sha256(text.encode()).hexdigest()}"
