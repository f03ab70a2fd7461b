"""Rows: the figures the processor maintains, as ClickHouse stores them (one row per key).

The processor computes every figure of the contract views ahead of the read and sends each
changed row whole, with a ``version``: the position in the processor's input of the last input
that changed it (see ``shared.topics.position``). The state a row is computed from is a
function of the input up to that position, so the same version always carries the same values,
and a later version is a later state. ClickHouse keeps the highest version per key
(ReplacingMergeTree), so replays, retries and late events can only supersede a row.

Times are epoch milliseconds (UTC); ``day`` is days since 1970-01-01 (UTC); money is Decimal.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Union

import msgspec


class ThreadRow(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="thread"):
    """One conversation with at least one reply (contract §4 ``threads``), stored under its
    owner. ``deleted``: the conversation no longer belongs to this ``owner`` (its root post
    arrived, or an earlier post of it did): the row with the same (owner, root_id) and a lower
    version is gone, so that a read of one owner's conversations never shows it."""

    root_id: str
    owner: str | None
    replies: int
    max_depth: int
    participants: int
    owner_replies: int
    first_reply_at: int
    last_reply_at: int
    h_index: int
    shares: int
    likes: int
    version: int
    deleted: bool = False


class AccountDayRow(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="day"):
    """One (account, day) (contract §4 ``account_daily``); ``qualifies`` says whether the view
    shows it (days on which only the account's own follows changed its mutuals do not)."""

    account: str
    day: int
    qualifies: bool
    followers: int  # at the end of the day
    follows_gained: int
    unfollows: int
    mutuals: int  # at the end of the day
    net_followers: int  # change during the day (followers at the end of the previous day = followers - this)
    replies_received: int
    unique_repliers: int
    max_thread_depth: int
    clicks: int
    unique_clickers: int
    follower_clicks: int
    posts: int
    shares_received: int
    likes_received: int
    conversions: int
    follower_conversions: int
    revenue: Decimal
    refunded: Decimal
    version: int


class FollowerRow(msgspec.Struct, array_like=True, gc=False, frozen=True, tag="follower"):
    """One edge follower→account of the ledger (contract §4 ``followers``); the view shows the
    active ones. Interactions are all-time."""

    account: str
    follower: str
    active: bool
    since: int | None
    mutual: bool
    replies: int
    clicks: int
    shares: int
    likes: int
    conversions: int
    kept_revenue: Decimal
    last_interaction_at: int | None
    version: int


Row = Union[ThreadRow, AccountDayRow, FollowerRow]

_encode = msgspec.msgpack.Encoder().encode
_decode_list = msgspec.msgpack.Decoder(list[Row]).decode


def encode_rows(rows: list[Row]) -> bytes:
    return _encode(rows)


def decode_rows(raw: bytes) -> list[Row]:
    return _decode_list(raw)
