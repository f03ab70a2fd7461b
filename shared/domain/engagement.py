"""Shares and likes (contract §6): each counts once per (actor, post), on its day.

Per (post_id, type, actor) the first event in (ts, id) order is the counted one; later events
by the same actor for the same post count nothing, and a self-share or self-like (actor = target)
counts nowhere. Events are routed by post id, so the counts of a conversation's root post (its
``threads`` row) are local too.
"""
from __future__ import annotations

import msgspec

from shared.domain.contributions import Like, Share
from shared.domain.conversation import Conversations, Outputs
from shared.domain.state import BatchState, EntryKind
from shared.events import Event


class Counted(msgspec.Struct, array_like=True, gc=False):
    """The event that counts for one (post, type, actor)."""

    id: str
    ts: int
    target: str


COUNTED = EntryKind("s", Counted)  # (post_id, type, actor)


class Engagement:
    def __init__(self, state: BatchState, out: Outputs, conversations: Conversations) -> None:
        self.state = state
        self.out = out
        self.conversations = conversations

    def add(self, event: Event, position: int) -> None:
        post_id, kind, actor, target = event.post_id, event.type, event.actor, event.target
        current = self.state.get(COUNTED, post_id, kind, actor)
        if current is not None and (current.ts, current.id) <= (event.ts, event.id):
            return  # a later one (or the same one again) counts nothing
        self.state.put(COUNTED, Counted(event.id, event.ts, target), post_id, kind, actor)  # type: ignore[arg-type]
        payload = Share if kind == "share" else Like
        old = (current.target, payload(actor, current.ts)) if current and current.target != actor else None
        new = (target, payload(actor, event.ts)) if target != actor else None  # type: ignore[arg-type]
        if old and new and old[0] == new[0]:
            self.out.change(new[0], old[1], new[1])  # type: ignore[arg-type]
        else:
            if old:
                self.out.change(old[0], old[1], None)
            if new:
                self.out.change(new[0], None, new[1])  # type: ignore[arg-type]
        delta = (new is not None) - (old is not None)
        if delta:
            self.conversations.add_engagement(post_id, kind, delta, position)  # type: ignore[arg-type]
