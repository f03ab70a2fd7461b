"""Contributions: what the event rules (stage 1) tell the account rules (stage 2).

Events are partitioned by conversation, account pair, order or clicked account, but the
figures users read are per account (``account_daily``, ``followers``). So every rule that
changes something an account's figures depend on sends that account a ``Change``: its old
contribution and its new one (either may be absent). The account rules subtract the old and add
the new, so an account's figures are always the sum of the current contributions of every
event that concerns it — exact under late events, duplicates and changed depths or owners.

An event's changes for one account travel together, as one ``Sequenced`` set, so that the
account's figures never show half of an event's effect (a late unfollow changes several follow
events of one edge at once). Each set carries its source (the events-topic partition whose state
produced it) and a sequence number that is deterministic in that partition's input: (event
position, index of the set among that event's sets). A replayed batch re-sends the same sets with
the same numbers, and the account rules apply each (source, sequence) once: see ``accounts``.

Times are epoch milliseconds (UTC); money is ``Decimal`` (contract §6: Decimal(18, 4)).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Union

import msgspec


class Reply(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="r"):
    """A reply by someone else in a conversation the account owns (contract: replies received)."""

    actor: str
    ts: int
    depth: int | None


class Edge(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="e"):
    """A follow/unfollow of the edge follower→account and its effect (see ``edges``)."""

    follower: str
    event_id: str
    ts: int
    delta: int  # +1 the edge became active, -1 inactive, 0 no transition
    mutual_delta: int  # change of "both directions active"
    active_at_ts: bool  # edge state after every event of this edge with this ts


class Mutual(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="m"):
    """The mutual change an account's OWN follow/unfollow caused (its mutuals change too)."""

    ts: int
    mutual_delta: int


class FollowerEdge(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="l"):
    """The current state of the edge follower→account, for the follower ledger."""

    follower: str
    active: bool
    since: int | None
    mutual: bool  # account→follower active too


class Click(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="c"):
    ts: int
    actor: str | None


class Post(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="p"):
    ts: int


class Share(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="s"):
    """A counted share (the actor's first of that post, not by the post's author)."""

    actor: str
    ts: int


class Like(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="k"):
    actor: str
    ts: int


class Order(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="o"):
    order_id: str
    ts: int
    value: Decimal
    actor: str | None


class Refund(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="f"):
    """What one refund event takes back, on its own day, from an order of the account."""

    ts: int
    amount: Decimal
    order_actor: str | None  # whose order it was (the follower ledger's kept revenue)


Payload = Union[Reply, Edge, Mutual, FollowerEdge, Click, Post, Share, Like, Order, Refund]


class Change(msgspec.Struct, array_like=True, gc=False, frozen=True):
    """Replace ``old`` by ``new`` in an account's figures (None: nothing)."""

    old: Payload | None
    new: Payload | None


class Sequenced(msgspec.Struct, array_like=True, gc=False, frozen=True):
    """One event's changes for one account, as they travel: source partition and sequence number."""

    source: int
    position: int  # the event's position in its partition (shared.topics.position)
    index: int  # the set's index among that event's sets
    account: str
    changes: list[Change]


_encode = msgspec.msgpack.Encoder().encode
_decode_list = msgspec.msgpack.Decoder(list[Sequenced]).decode


def encode_changes(changes: list[Sequenced]) -> bytes:
    return _encode(changes)


def decode_changes(raw: bytes) -> list[Sequenced]:
    return _decode_list(raw)
