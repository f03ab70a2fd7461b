"""Clicks (contract §3, Traffic): counted once per event id, for the clicked account.

Whether a click came from a follower at the click's time is decided by the account rules, which
hold the follow timeline of each (account, follower) edge (see ``accounts``). What is left here is
remembering which click ids were seen: clicks are the one event type with no other state that
would notice a duplicate.
"""
from __future__ import annotations

from shared.domain.contributions import Click
from shared.domain.conversation import Outputs
from shared.domain.state import BatchState, EntryKind
from shared.events import Event

SEEN = EntryKind("v", bool)  # (click event id)


class Clicks:
    def __init__(self, state: BatchState, out: Outputs) -> None:
        self.state = state
        self.out = out

    def add(self, event: Event) -> None:
        if self.state.get(SEEN, event.id):
            return
        self.state.put(SEEN, True, event.id)
        self.out.change(event.target, None, Click(event.ts, event.actor))  # type: ignore[arg-type]
