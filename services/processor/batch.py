"""One batch of events applied to the processor's state, without Faust.

State lives in two key-value tables (Faust tables in production, plain dicts in unit tests):
conversations by ``conversation_key(root_id)`` and account pairs by ``pair_key(a, b)`` — the same
keys that route events to partitions (shared.topics), so a worker only ever touches the state of
its own partitions. Each state key is read and written once per batch, however many of its events
the batch holds: that is what makes batching pay.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, MutableMapping

from shared.domain.conversation import ConversationState
from shared.domain.edges import PairState
from shared.domain.facts import Fact
from shared.events import Event
from shared.topics import conversation_key, pair_key

Table = MutableMapping[bytes, bytes]


def apply_batch(events: Iterable[Event], conversations: Table, pairs: Table) -> list[Fact]:
    """Add the events to their states; return the facts that are new or changed."""
    by_conversation: dict[bytes, list[Event]] = defaultdict(list)
    by_pair: dict[bytes, list[Event]] = defaultdict(list)
    for event in events:
        if event.type == "reply":
            by_conversation[conversation_key(event.root_id)].append(event)  # type: ignore[arg-type]
        elif event.type == "post":
            by_conversation[conversation_key(event.post_id)].append(event)  # type: ignore[arg-type]
        elif event.type in ("follow", "unfollow"):
            by_pair[pair_key(event.actor, event.target)].append(event)  # type: ignore[arg-type]
        # Clicks need no stream state: see the processor's design note.

    facts: list[Fact] = []
    for key, group in by_conversation.items():
        raw = conversations.get(key)
        first = group[0]
        state = (ConversationState.from_bytes(raw) if raw is not None
                 else ConversationState(first.root_id if first.type == "reply" else first.post_id))  # type: ignore[arg-type]
        before = state.version
        for event in group:
            facts.extend(state.add(event))
        if state.version != before:
            conversations[key] = state.to_bytes()
    for key, group in by_pair.items():
        raw = pairs.get(key)
        first = group[0]
        state = PairState.from_bytes(raw) if raw is not None else PairState(first.actor, first.target)  # type: ignore[arg-type]
        before = state.version
        for event in group:
            facts.extend(state.add(event))
        if state.version != before:
            pairs[key] = state.to_bytes()
    return facts
