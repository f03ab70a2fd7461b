"""Bearer API keys: those of ``RICHNESS_API_KEYS`` and those of the keys file
(``RICHNESS_API_KEYS_FILE``, managed by ``richness keys``), which is re-read as soon as it
changes, so a key created or revoked applies to the running ingest without a restart.

Each key has a name (file keys their own; a ``RICHNESS_API_KEYS`` key ``env-`` and the first 8
hex digits of its SHA-256) for per-key metrics, and file keys an optional rate limit. A presented
key is looked up by its SHA-256, so neither the lookup's timing nor the stored digests reveal a
secret. Keys are never logged or echoed.
"""
from __future__ import annotations

import enum
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from pydantic import SecretStr

from shared.api_keys import KeyFileError, StoredKey, hash_secret, read_keys

log = logging.getLogger(__name__)


class Verdict(enum.Enum):
    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"
    REVOKED = "revoked"
    LIMITED = "limited"


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    key: str | None = None          # the presented key's name, when it is a known key
    retry_after_s: float = 0.0      # LIMITED: until the key may send again


class TokenBucket:
    """``rate`` requests per second on average, bursts of up to ``max(rate, 1)``."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = self.capacity
        self.updated = now

    @property
    def capacity(self) -> float:
        return max(self.rate, 1.0)

    def take(self, now: float) -> float:
        """0 if a request may go now (and count it), else the seconds until one may."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class ApiKeys:
    def __init__(self, env_keys: Iterable[SecretStr], keys_file: Path | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._env: dict[str, StoredKey] = {}
        for key in env_keys:
            digest = hash_secret(key.get_secret_value())
            self._env[digest] = StoredKey(f"env-{digest[:8]}", digest, "", "")
        self._file = Path(keys_file) if keys_file is not None else None
        self._file_signature: tuple[int, int, int] | None = None
        self._from_file: dict[str, StoredKey] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._clock = clock
        self._refresh()

    @property
    def configured(self) -> bool:
        """Keys can authenticate: some from the environment, or a keys file (maybe empty yet)."""
        return bool(self._env) or self._file is not None

    def describe(self) -> str:
        active = sum(1 for key in self._from_file.values() if key.active)
        parts = [f"{len(self._env)} from RICHNESS_API_KEYS"]
        if self._file is not None:
            parts.append(f"{active} active in {self._file}")
        return ", ".join(parts)

    def check(self, authorization: str | None) -> Check:
        """Judge an ``Authorization`` header value."""
        if not authorization:
            return Check(Verdict.MISSING)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Check(Verdict.MISSING)
        digest = hash_secret(token.strip().encode("latin-1"))  # undoes the server's latin-1 header decoding
        self._refresh()
        key = self._from_file.get(digest) or self._env.get(digest)  # the file's word (a revocation) wins
        if key is None:
            return Check(Verdict.INVALID)
        if not key.active:
            return Check(Verdict.REVOKED, key.name)
        if key.rate_limit is not None:
            wait = self._bucket(key).take(self._clock())
            if wait > 0:
                return Check(Verdict.LIMITED, key.name, wait)
        return Check(Verdict.OK, key.name)

    def _bucket(self, key: StoredKey) -> TokenBucket:
        assert key.rate_limit is not None
        bucket = self._buckets.get(key.name)
        if bucket is None:
            bucket = self._buckets[key.name] = TokenBucket(key.rate_limit, self._clock())
        bucket.rate = key.rate_limit  # a changed limit applies at once
        return bucket

    def _refresh(self) -> None:
        """Re-read the keys file if it changed (one stat per request; writers replace it atomically)."""
        if self._file is None:
            return
        try:
            stat = os.stat(self._file)
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            signature = None
        if signature == self._file_signature:
            return
        self._file_signature = signature
        try:
            keys = read_keys(self._file)
        except (KeyFileError, OSError) as exc:
            # Keep the last good keys rather than locking every client out; say so once per change.
            log.error("keys file %s unreadable, keeping the keys read before: %s", self._file, exc)
            return
        self._from_file = {key.sha256: key for key in keys}
        log.info("API keys: %s", self.describe())

    def __repr__(self) -> str:
        return f"ApiKeys({self.describe()})"
