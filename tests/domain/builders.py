"""Terse event builders and fact helpers for the domain tests."""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

import msgspec

from shared.domain.facts import Fact
from shared.events import Event

ROOT = "root"


def post(id: str, ts: int = 0, actor: str = "owner", post_id: str = ROOT) -> Event:
    return Event(id=id, type="post", ts=ts, received_at=ts, actor=actor, post_id=post_id)


def reply(id: str, post_id: str, parent_id: str, ts: int = 0, actor: str = "someone", root_id: str = ROOT) -> Event:
    return Event(id=id, type="reply", ts=ts, received_at=ts, actor=actor, post_id=post_id,
                 parent_id=parent_id, root_id=root_id)


def follow(id: str, actor: str, target: str, ts: int = 0) -> Event:
    return Event(id=id, type="follow", ts=ts, received_at=ts, actor=actor, target=target)


def unfollow(id: str, actor: str, target: str, ts: int = 0) -> Event:
    return Event(id=id, type="unfollow", ts=ts, received_at=ts, actor=actor, target=target)


def click(id: str, target: str, ts: int = 0, actor: str | None = None) -> Event:
    return Event(id=id, type="click", ts=ts, received_at=ts, actor=actor, target=target)


def share(id: str, actor: str, target: str, post_id: str = ROOT, ts: int = 0) -> Event:
    return Event(id=id, type="share", ts=ts, received_at=ts, actor=actor, target=target, post_id=post_id)


def like(id: str, actor: str, target: str, post_id: str = ROOT, ts: int = 0) -> Event:
    return Event(id=id, type="like", ts=ts, received_at=ts, actor=actor, target=target, post_id=post_id)


def conversion(id: str, order_id: str, target: str, value: str, ts: int = 0, actor: str | None = None) -> Event:
    """An order; ``value`` as decimal text ("19.99"): money never goes through a float."""
    return Event(id=id, type="conversion", ts=ts, received_at=ts, actor=actor, target=target, order_id=order_id,
                 value=Decimal(value))


def refund(id: str, order_id: str, ts: int = 0, value: str | None = None, actor: str | None = None) -> Event:
    """A refund of ``value`` (decimal text), or of the rest of the order when None."""
    return Event(id=id, type="refund", ts=ts, received_at=ts, actor=actor, order_id=order_id,
                 value=None if value is None else Decimal(value))


def by_key(facts: Iterable[Fact]) -> dict[tuple[str, ...], Fact]:
    """What a ReplacingMergeTree keeps: per fact key, the fact with the highest version."""
    kept: dict[tuple[str, ...], Fact] = {}
    for fact in facts:
        if fact.key not in kept or fact.version > kept[fact.key].version:
            kept[fact.key] = fact
    return kept


def unversioned(facts: Iterable[Fact]) -> dict[tuple[str, ...], Fact]:
    """The kept facts without their versions, which depend on the delivery order."""
    return {key: msgspec.structs.replace(fact, version=0) for key, fact in by_key(facts).items()}
