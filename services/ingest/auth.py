"""Bearer API keys. Keys are compared in constant time and never logged or echoed."""
from __future__ import annotations

import enum
import hmac
from typing import Iterable

from pydantic import SecretStr


class Verdict(enum.Enum):
    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"


class ApiKeys:
    def __init__(self, keys: Iterable[SecretStr]) -> None:
        self._keys = [key.get_secret_value().encode() for key in keys]

    def __bool__(self) -> bool:
        return bool(self._keys)

    def check(self, authorization: str | None) -> Verdict:
        """Judge an ``Authorization`` header value."""
        if not authorization:
            return Verdict.MISSING
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Verdict.MISSING
        presented = token.strip().encode("latin-1")  # undoes the server's latin-1 header decoding
        # Compare with every key, without stopping at a match: timing tells nothing about which.
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(key, presented)
        return Verdict.OK if matched else Verdict.INVALID

    def __repr__(self) -> str:
        return f"ApiKeys(<{len(self._keys)} keys>)"
