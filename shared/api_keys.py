"""Named API keys kept in a keys file, stored hashed: what ``richness keys`` manages and the
ingest API reads (``RICHNESS_API_KEYS_FILE``; ``RICHNESS_API_KEYS`` keeps working beside it).

The file holds, per key, its name, the SHA-256 of its secret (a random 256-bit token needs no
slow hash: nothing can be guessed from the digest), a short hint to recognise it, when it was
created and revoked, and an optional rate limit. The secret itself is shown once, when created.
Writers take a lock and replace the file atomically (0600), so a running ingest that reloads
it never reads half a file.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import msgspec

LOCAL_FILE_NAME = "keys.json"  # the local stack's keys file, in its data directory
SECRET_PREFIX = "rk_"
HINT_LENGTH = len(SECRET_PREFIX) + 4
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class KeyFileError(ValueError):
    """A key operation that cannot be done, with the reason (shown to the user as is)."""


class StoredKey(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str
    sha256: str                       # hex digest of the secret
    hint: str                         # the secret's first characters, e.g. "rk_AbCd"
    created_at: str                   # RFC 3339, UTC
    revoked_at: str | None = None
    rate_limit: float | None = None   # requests per second; None: unlimited

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KeysFileContent(msgspec.Struct):
    format: int = 1
    keys: list[StoredKey] = msgspec.field(default_factory=list)


_decoder = msgspec.json.Decoder(KeysFileContent)
_encoder = msgspec.json.Encoder()


def hash_secret(secret: str | bytes) -> str:
    return hashlib.sha256(secret if isinstance(secret, bytes) else secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise KeyFileError(f"invalid key name {name!r}: 1-64 characters, letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit (it becomes a metric label)")
    return name


def read_keys(path: Path) -> list[StoredKey]:
    """Every key in the file (revoked ones included); none if the file does not exist."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    try:
        return _decoder.decode(raw).keys
    except msgspec.DecodeError as exc:
        raise KeyFileError(f"{path} is not a Richness keys file: {exc}") from None


def _add(keys: list[StoredKey], name: str, secret: str, rate_limit: float | None) -> StoredKey:
    if any(k.name == name and k.active for k in keys):
        raise KeyFileError(f"an active key named {name!r} exists already: revoke it first, or pick another name")
    digest = hash_secret(secret)
    if any(k.sha256 == digest for k in keys):
        raise KeyFileError("that secret is stored already")
    key = StoredKey(name, digest, secret[:HINT_LENGTH], _now(), rate_limit=rate_limit)
    keys.append(key)
    return key


def _revoke(keys: list[StoredKey], name: str) -> StoredKey | None:
    for index, key in enumerate(keys):
        if key.name == name and key.active:
            keys[index] = msgspec.structs.replace(key, revoked_at=_now())
            return keys[index]
    return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class KeysFile:
    """Create, list and revoke the keys of one file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def list(self) -> list[StoredKey]:
        return read_keys(self.path)

    def create(self, name: str, rate_limit: float | None = None) -> str:
        """A new active key named ``name``; returns its secret (the only time it is known)."""
        secret = new_secret()
        self.add(name, secret, rate_limit)
        return secret

    def add(self, name: str, secret: str, rate_limit: float | None = None) -> StoredKey:
        """Store ``secret`` as the active key ``name`` (refused if ``name`` has an active key)."""
        check_name(name)
        if rate_limit is not None and not rate_limit > 0:
            raise KeyFileError(f"the rate limit must be a positive number of requests per second, not {rate_limit}")
        with self._editing() as keys:
            return _add(keys, name, secret, rate_limit)

    def revoke(self, name: str) -> StoredKey:
        """Revoke the active key ``name``: from then on it answers 401."""
        with self._editing() as keys:
            if (revoked := _revoke(keys, name)) is not None:
                return revoked
            known = sorted({k.name for k in keys if k.active})
            raise KeyFileError(f"no active key named {name!r} in {self.path}"
                               + (f" (active: {', '.join(known)})" if known else " (it has no active key)"))

    def ensure(self, name: str, secret: str) -> None:
        """Make ``secret`` the active key ``name`` unless it is stored already (active or revoked:
        a revoked key stays revoked). A different active key of that name is revoked first."""
        check_name(name)
        with self._editing() as keys:
            if not any(k.sha256 == hash_secret(secret) for k in keys):
                _revoke(keys, name)
                _add(keys, name, secret, None)

    @contextmanager
    def _editing(self) -> Iterator[list[StoredKey]]:
        """The keys, for changing in place under a lock; written back atomically on success."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            keys = list(read_keys(self.path))
            yield keys
            self._write(keys)

    def _write(self, keys: list[StoredKey]) -> None:
        content = _encoder.encode(KeysFileContent(keys=keys))
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(handle, "wb") as out:  # mkstemp creates it 0600
                out.write(msgspec.json.format(content, indent=2) + b"\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
