"""Terse event builders and fact helpers for the domain tests."""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

import msgspec

from shared.domain.conversation import NODE
from shared.domain.rules import Collector, EventRules
from shared.domain.state import DictStore
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


def by_key(facts: Iterable) -> dict[tuple[str, ...], object]:
    """The last fact of each key."""
    return {fact.key: fact for fact in facts}



class Thread:
    """The event rules over a dict store, one batch per ``add`` — for looking at one conversation."""

    def __init__(self, root: str = ROOT) -> None:
        self.root = root
        self.store = DictStore()
        self.changes: list = []
        self.rows: list = []
        self.written = 0  # entries the last batch wrote
        self._position = 0

    def add(self, *events: Event) -> dict[str, int | None]:
        """Apply ``events`` as one batch; return the depth of every reply it added or changed."""
        state, out = self.store.batch(), Collector(0)
        inputs = []
        for event in events:
            self._position += 1
            inputs.append((self._position, event))
        EventRules(state, out).apply(inputs)
        self.written = len(state)
        changed = dict(state.changes())
        before, after = self.depths(self.store.data, changed), self.depths(changed, changed)
        self.store.commit(state)
        self.changes += out.changes
        self.rows += out.rows
        return {i: d for i, d in after.items() if i not in before or before[i] != d}

    def depths(self, entries: dict[bytes, bytes] | None = None, keys=None) -> dict[str, int | None]:
        """The depth of every reply held (of those ``keys``), by event id."""
        entries = self.store.data if entries is None else entries
        found = {}
        for key in entries if keys is None else keys:
            tag, *parts = msgspec.msgpack.decode(key)
            if tag == NODE.tag and parts[0] == self.root and key in entries:
                found.update((claim.id, claim.depth) for claim in NODE.decode(entries[key]).claims)
        return found

    def row(self):
        """The conversation's latest thread row."""
        return [r for r in self.rows if r.root_id == self.root][-1]
