"""Topic layout and partition keys.

``richness.events`` carries one validated event per record (``shared.events.Event`` as JSON).
Its key decides the partition, and therefore which processor worker owns which state. Every
stateful computation must find all the events it needs in ONE partition, so the key is the unit
of state, not the event:

* ``follow`` / ``unfollow``: the unordered account pair ``{actor, target}``. Both directions of
  a relationship land together, so an edge's history and its reciprocity (mutuals) are local.
* ``post``: its ``post_id``; ``reply``: its ``root_id``. A conversation's root post and all its
  replies land together, so the reply tree (depth, owner) is local.
* ``click``: its ``target``. Clicks need no stream state (whether a click came from a follower is
  decided against the edge timeline the processor stores, see the processor's design note).

Keys are JSON arrays so that no account name can forge another key (names may contain any
character). ``richness.facts`` carries what the processor derives; ``richness.dead-letter`` the
records that can never be stored.
"""
from __future__ import annotations

import msgspec

from shared.events import Event

_encode = msgspec.json.Encoder().encode


def pair_key(a: str, b: str) -> bytes:
    low, high = (a, b) if a <= b else (b, a)
    return _encode(("pair", low, high))


def conversation_key(root_id: str) -> bytes:
    return _encode(("conv", root_id))


def routing_key(event: Event) -> bytes:
    """The events-topic key of a validated event (see the module docstring)."""
    kind = event.type
    if kind in ("follow", "unfollow"):
        return pair_key(event.actor, event.target)  # type: ignore[arg-type]
    if kind == "post":
        return conversation_key(event.post_id)  # type: ignore[arg-type]
    if kind == "reply":
        return conversation_key(event.root_id)  # type: ignore[arg-type]
    return _encode(("account", event.target))
