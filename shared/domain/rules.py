"""The two stages of rules, each applied to one batch of its input (pure: no Kafka, no Faust).

* ``EventRules`` (stage 1) takes events, partitioned by conversation, account pair, order or
  clicked account (``shared.topics.routing_key``), keeps their state, and sends ``ThreadRow``s and
  ``Change``s of account figures.
* ``AccountRules`` (stage 2) takes those changes, partitioned by account, and sends the
  ``AccountDayRow``s and ``FollowerRow``s.

``Collector`` is the outputs of one batch: rows, and changes numbered by (position, index) for
the account rules' exactly-once application (``contributions``).
"""
from __future__ import annotations

from typing import Iterable

from shared.domain.accounts import Accounts
from shared.domain.contributions import Change, Payload, Sequenced
from shared.domain.conversation import Conversations
from shared.domain.edges import Pairs
from shared.domain.engagement import Engagement
from shared.domain.orders import Orders
from shared.domain.rows import Row
from shared.domain.state import BatchState
from shared.domain.traffic import Clicks
from shared.events import Event


# An event's changes for one account travel as one set, up to this many (an owner arriving
# after a million replies moves a million of them: those go in several sets).
CHANGES_PER_SET = 1000


class Collector:
    """Outputs of one batch, in order. ``at(position)`` starts the outputs of one input;
    ``finish`` ends the last."""

    def __init__(self, source: int) -> None:
        self.source = source
        self.changes: list[Sequenced] = []
        self.rows: list[Row] = []
        self._position = 0
        self._index = 0
        self._open: dict[str, list[Change]] = {}

    def at(self, position: int) -> None:
        self.finish()
        self._position, self._index = position, 0

    def change(self, account: str, old: Payload | None, new: Payload | None) -> None:
        changes = self._open.setdefault(account, [])
        changes.append(Change(old, new))
        if len(changes) == CHANGES_PER_SET:
            self._send(account, self._open.pop(account))

    def row(self, row: Row) -> None:
        self.rows.append(row)

    def finish(self) -> None:
        for account, changes in self._open.items():
            self._send(account, changes)
        self._open = {}

    def _send(self, account: str, changes: list[Change]) -> None:
        self.changes.append(Sequenced(self.source, self._position, self._index, account, changes))
        self._index += 1


class EventRules:
    def __init__(self, state: BatchState, out: Collector) -> None:
        self.out = out
        self.conversations = Conversations(state, out)
        self.engagement = Engagement(state, out, self.conversations)
        self.pairs = Pairs(state, out)
        self.orders = Orders(state, out)
        self.clicks = Clicks(state, out)

    def apply(self, events: Iterable[tuple[int, Event]]) -> None:
        """Apply (position, event) pairs in order, then send the changed conversations' rows."""
        for position, event in events:
            self.out.at(position)
            kind = event.type
            if kind == "reply":
                self.conversations.add_reply(event, position)
            elif kind == "post":
                self.conversations.add_post(event, position)
            elif kind in ("follow", "unfollow"):
                self.pairs.add(event)
            elif kind == "click":
                self.clicks.add(event)
            elif kind in ("share", "like"):
                self.engagement.add(event, position)
            elif kind in ("conversion", "refund"):
                self.orders.add(event)
            else:  # pragma: no cover - the event contract knows no other type
                raise ValueError(f"no rule for event type {kind!r}")
        self.out.finish()
        self.conversations.flush()


class AccountRules:
    def __init__(self, state: BatchState, out: Collector) -> None:
        self.accounts = Accounts(state, out)

    def apply(self, changes: Iterable[tuple[int, Sequenced]]) -> None:
        """Apply (position, change) pairs in order, then send the changed rows."""
        for position, item in changes:
            self.accounts.apply(item, position)
        self.accounts.flush()
