"""Facts: what the processor derives from events, stored as one row per fact key in ClickHouse.

Every fact is a deterministic function of the set of distinct events held for one partition key.
``version`` is the number of distinct events that state held when the fact was computed. State
only grows, so versions only rise; the same set gives the same version and the same values. The
sink keeps facts in ReplacingMergeTree tables ordered by ``key`` with ``version`` as the version
column, so the latest state wins and a replayed event changes nothing.

Times are epoch milliseconds (UTC).
"""
from __future__ import annotations

from typing import Union

import msgspec


class ReplyFact(msgspec.Struct, frozen=True, tag="reply", tag_field="kind"):
    """The depth of one reply event in its conversation (contract §3, Conversations)."""

    event_id: str
    root_id: str
    post_id: str
    actor: str
    ts: int
    depth: int | None  # None: no chain to the root through known replies (yet), or a cycle
    version: int

    @property
    def key(self) -> tuple[str, ...]:
        return ("reply", self.event_id)


class EdgeEventFact(msgspec.Struct, frozen=True, tag="edge_event", tag_field="kind"):
    """What one follow/unfollow event did to the edge follower→account and to the pair.

    Events of a pair are taken in (ts, id) order over both directions.
    """

    event_id: str
    follower: str
    account: str
    ts: int
    delta: int  # +1 inactive→active, -1 active→inactive, 0 no transition
    # Whether the edge is active after every event of this edge with this ts: the state "at ts"
    # in the contract's sense, safe for an ASOF join on ts even when events tie on ts.
    active_at_ts: bool
    mutual_delta: int  # +1/-1/0: change of "both directions active" caused by this event
    version: int

    @property
    def key(self) -> tuple[str, ...]:
        return ("edge_event", self.event_id)


class EdgeStateFact(msgspec.Struct, frozen=True, tag="edge_state", tag_field="kind"):
    """The current state of the edge follower→account, after every known event of it."""

    follower: str
    account: str
    active: bool
    since: int | None  # ts of the follow that activated the edge; None while inactive
    version: int

    @property
    def key(self) -> tuple[str, ...]:
        return ("edge_state", self.follower, self.account)


Fact = Union[ReplyFact, EdgeEventFact, EdgeStateFact]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Fact)


def encode_fact(fact: Fact) -> bytes:
    return _encoder.encode(fact)


def decode_fact(raw: bytes | str) -> Fact:
    return _decoder.decode(raw)
