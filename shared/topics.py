"""Topic layout and partition keys.

``richness.events`` carries validated events (``shared.events.Event``), as JSON arrays of up to
``EVENTS_PER_RECORD`` events that all belong to the record's partition ("event batches"). One
record per event would cost the processor its whole budget in per-record stream overhead
(Faust handles a few thousand records/s; the events inside a record cost microseconds).

Each event has a routing key, and its partition is the one Kafka's default partitioner would
choose for that key (murmur2), so the layout is exactly "partitioned by key", only packed. The
key decides which processor worker owns which state. Every stateful computation must find all
the events it needs in ONE partition, so the key is the unit of state, not the event:

* ``follow`` / ``unfollow``: the unordered account pair ``{actor, target}``. Both directions of
  a relationship land together, so an edge's history and its reciprocity (mutuals) are local.
* ``post``: its ``post_id``; ``reply``: its ``root_id``. A conversation's root post and all its
  replies land together, so the reply tree (depth, owner) is local.
* ``click``: its ``target``. Clicks need no stream state (whether a click came from a follower is
  decided against the edge timeline the processor stores, see the processor's design note).
* ``share`` / ``like``: the conversation of their ``post_id``. Counting once per (actor, post)
  needs every share (like) of a post in one place, and the root post's share and like counts
  belong to its conversation.
* ``conversion`` / ``refund``: their ``order_id``. An order and all its refunds land together, so
  the first conversion of an order, the refunds applied in (ts, id) order and the remainder of
  the order are local (a refund that arrives before its order waits there for it).

Keys are JSON arrays so that no account name can forge another key (names may contain any
character). ``richness.facts`` carries what the processor derives; ``richness.dead-letter`` the
records that can never be stored.
"""
from __future__ import annotations

import struct
from collections import defaultdict
from functools import lru_cache
from typing import Iterable

import msgspec

from shared.events import Event

EVENTS_PER_RECORD = 500  # ~100 KiB records: far below Kafka's 1 MiB default limit

_encode = msgspec.json.Encoder(decimal_format="number").encode  # money as JSON numbers, as in shared.events
_decode_batch = msgspec.json.Decoder(list[Event]).decode


def pair_key(a: str, b: str) -> bytes:
    low, high = (a, b) if a <= b else (b, a)
    return _encode(("pair", low, high))


def conversation_key(root_id: str) -> bytes:
    return _encode(("conv", root_id))


def order_key(order_id: str) -> bytes:
    return _encode(("order", order_id))


def routing_key(event: Event) -> bytes:
    """The events-topic key of a validated event (see the module docstring)."""
    kind = event.type
    if kind in ("follow", "unfollow"):
        return pair_key(event.actor, event.target)  # type: ignore[arg-type]
    if kind in ("post", "share", "like"):
        return conversation_key(event.post_id)  # type: ignore[arg-type]
    if kind == "reply":
        return conversation_key(event.root_id)  # type: ignore[arg-type]
    if kind in ("conversion", "refund"):
        return order_key(event.order_id)  # type: ignore[arg-type]
    return _encode(("account", event.target))


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (as the Java client and aiokafka compute it), reading 4-byte words at
    once: aiokafka's byte-by-byte version was half of the ingest API's CPU time."""
    length = len(data)
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[words * 4:]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


@lru_cache(maxsize=1 << 16)
def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner, so tools that key by the same bytes agree. Cached: busy
    accounts and conversations come back again and again."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def event_batches(events: Iterable[Event], partitions: int,
                  per_record: int = EVENTS_PER_RECORD) -> list[tuple[int, bytes]]:
    """Pack events into (partition, record value) pairs, keeping each key's events in order."""
    by_partition: dict[int, list[Event]] = defaultdict(list)
    for event in events:
        by_partition[partition_for(routing_key(event), partitions)].append(event)
    return [(partition, _encode(group[start:start + per_record]))
            for partition, group in by_partition.items()
            for start in range(0, len(group), per_record)]


def decode_event_batch(raw: bytes) -> list[Event]:
    return _decode_batch(raw)
