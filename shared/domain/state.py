"""Keyed state for the processor's rules: many small entries instead of one value per key.

A conversation with a million replies, or an account with ten years of days, must cost the
same per event as a small one. So the rules keep their state as many small entries — one per
reply node, per (account, day), per (account, follower)… — read and written through a
``BatchState``: reads fall through to the committed store, writes stay in the batch until the
caller has made the batch's outputs and its changelog durable, and then commits them at once.

Entries are typed by an ``EntryKind``: a short tag and a msgspec struct (or plain value) type.
Keys are msgpack arrays ``[tag, *parts]``; values are msgpack. Both are bytes, so any key-value
store works underneath (a dict in unit tests, RocksDB behind a Faust table in the processor).
Within a batch, entries are found by their key as a tuple: encoding happens only for what is read
from or written to the store.
"""
from __future__ import annotations

from typing import Any, Callable, Generic, Iterator, TypeVar

import msgspec

T = TypeVar("T")

_encode = msgspec.msgpack.Encoder().encode
_MISSING = object()


class EntryKind(Generic[T]):
    """One kind of state entry: its key tag and its value type."""

    def __init__(self, tag: str, value_type: type[T] | Any) -> None:
        self.tag = tag
        self.decode: Callable[[bytes], T] = msgspec.msgpack.Decoder(value_type).decode

    def key(self, *parts: object) -> bytes:
        return _encode((self.tag, *parts))


class BatchState:
    """The entries one batch reads and writes, over a read-only view of the committed store.

    Decoded values are cached for the batch, so an entry is decoded once however often the
    rules look at it. Rules must ``put`` every entry they change (values are mutable structs).
    """

    def __init__(self, read: Callable[[bytes], bytes | None]) -> None:
        self._read = read
        self._values: dict[tuple, Any] = {}
        self._dirty: set[tuple] = set()

    def get(self, kind: EntryKind[T], *parts: object) -> T | None:
        key = (kind.tag, *parts)
        value = self._values.get(key, _MISSING)
        if value is _MISSING:
            raw = self._read(_encode(key))
            value = None if raw is None else kind.decode(raw)
            self._values[key] = value
        return value

    def put(self, kind: EntryKind[T], value: T, *parts: object) -> None:
        key = (kind.tag, *parts)
        self._values[key] = value
        self._dirty.add(key)

    def update(self, kind: EntryKind[T], new: Callable[[], T], *parts: object) -> T:
        """The entry to change (``new()`` if there is none), already marked written: what the
        rules do to it in this batch is kept."""
        key = (kind.tag, *parts)
        value = self._values.get(key, _MISSING)
        if value is _MISSING:
            raw = self._read(_encode(key))
            value = new() if raw is None else kind.decode(raw)
            self._values[key] = value
        elif value is None:
            value = self._values[key] = new()
        self._dirty.add(key)
        return value

    def __len__(self) -> int:
        """Number of entries written so far."""
        return len(self._dirty)

    def changes(self) -> Iterator[tuple[bytes, bytes]]:
        """Every written entry as (key, encoded value), for the changelog and the store."""
        values = self._values
        for key in self._dirty:
            yield _encode(key), _encode(values[key])


class DictStore:
    """A plain-dict committed store: unit tests and tools that need no Faust."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def batch(self) -> BatchState:
        return BatchState(self.data.get)

    def commit(self, state: BatchState) -> int:
        changes = dict(state.changes())
        self.data.update(changes)
        return len(changes)
