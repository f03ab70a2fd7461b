"""The processor's previous conversation state (one value per conversation, every reply in it),
kept as an oracle for the per-reply rules in shared/domain/conversation.py.

Reply depths of one conversation (contract §3, Conversations), computed incrementally.

Rules: the root post is depth 0; a reply whose ``parent_id`` is the root is depth 1; any other
reply is depth(parent) + 1, where the parent is a known reply of this conversation that has a
depth. Replies whose chain does not reach the root through known replies wait without a depth
until the missing replies arrive; a cycle never gets a depth. Two decisions the contract leaves
open:

* Several reply events with the same ``post_id``: the one first in (ts, id) order is the node
  that answers to that post id. The others still get a depth from their own parent, but nothing
  hangs below them. A newly arrived earlier duplicate takes the node over, and everything below
  the node is recomputed.
* A reply whose ``post_id`` is the root itself is nonsense: it never gets a depth, and is not a
  node (replies to the root are depth 1 anyway).

The root ``post`` event is not needed for depths; post events only count toward ``version``.
"""
from __future__ import annotations

import msgspec

from shared.events import Event


class _Reply(msgspec.Struct, array_like=True):
    """What the state keeps of one reply event: enough to place it in the tree."""

    id: str
    post_id: str
    parent_id: str
    actor: str
    ts: int
    depth: int | None = None


class _Snapshot(msgspec.Struct, array_like=True):
    root_id: str
    post_event_ids: list[str]
    replies: list[_Reply]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Snapshot)


class ConversationState:
    """The distinct post and reply events of the conversation rooted at ``root_id``."""

    def __init__(self, root_id: str) -> None:
        self.root_id = root_id
        self._post_event_ids: set[str] = set()
        self._replies: dict[str, _Reply] = {}  # by event id
        # Derived indexes, rebuilt on load rather than stored:
        self._nodes: dict[str, _Reply] = {}  # post id -> the reply that is that node
        self._children: dict[str, list[_Reply]] = {}  # parent id -> every reply answering it

    @property
    def version(self) -> int:
        return len(self._post_event_ids) + len(self._replies)

    def add(self, event: Event) -> list[tuple[str, int | None]]:
        """Take one event; return the facts of the new reply and of every reply whose depth changed.

        An event id already held changes nothing and returns no facts.
        """
        self._check_belongs(event)
        if event.id in self._post_event_ids or event.id in self._replies:
            return []
        if event.type == "post":
            self._post_event_ids.add(event.id)
            return []
        reply = _Reply(event.id, event.post_id, event.parent_id, event.actor, event.ts)  # type: ignore[arg-type]
        previous = self._nodes.get(reply.post_id)
        self._link(reply)
        reply.depth = self._depth_of(reply)
        changed = {reply.id: reply}
        # What hangs below a node depends only on the node's depth, so when the reply became the
        # node without changing that depth (typically: still none), nothing below needs a look.
        # That keeps a reply still waiting for its parent O(1) however much waits below it.
        if self._nodes.get(reply.post_id) is reply and reply.depth != (previous.depth if previous else None):
            changed.update((r.id, r) for r in self._recompute_below(reply.post_id))
        return [(r.id, r.depth) for r in changed.values()]

    def _check_belongs(self, event: Event) -> None:
        if event.type == "post" and event.post_id == self.root_id:
            return
        if event.type == "reply" and event.root_id == self.root_id:
            return
        raise ValueError(f"event {event.id!r} ({event.type}) is not part of conversation {self.root_id!r}")

    def _link(self, reply: _Reply) -> None:
        self._replies[reply.id] = reply
        self._children.setdefault(reply.parent_id, []).append(reply)
        if reply.post_id == self.root_id:
            return
        node = self._nodes.get(reply.post_id)
        if node is None or (reply.ts, reply.id) < (node.ts, node.id):
            self._nodes[reply.post_id] = reply

    def _depth_of(self, reply: _Reply) -> int | None:
        """The depth of ``reply`` given the depths known now for the nodes above it."""
        if reply.post_id == self.root_id:
            return None
        if reply.parent_id == self.root_id:
            return 1
        parent = self._nodes.get(reply.parent_id)
        if parent is None or parent.depth is None:
            return None
        return parent.depth + 1

    def _recompute_below(self, post_id: str) -> list[_Reply]:
        """Re-derive the depths of every reply hanging below the node ``post_id``, whose depth
        just changed; return those whose depth changed.

        Costs O(size of that subtree). All of it is forgotten first and then derived top-down, so
        a cycle through ``post_id`` (whose members would otherwise feed each other) has no depth.
        """
        below = self._descendants(post_id)
        before = [(reply, reply.depth) for reply in below]
        for reply in below:
            reply.depth = None
        pending = [post_id]
        while pending:
            for child in self._children.get(pending.pop(), ()):
                child.depth = self._depth_of(child)
                if child.depth is not None and self._nodes.get(child.post_id) is child:
                    pending.append(child.post_id)
        return [reply for reply, depth in before if reply.depth != depth]

    def _descendants(self, post_id: str) -> list[_Reply]:
        """Every reply whose depth depends on the node ``post_id``."""
        found: list[_Reply] = []
        seen = {post_id}
        pending = [post_id]
        while pending:
            for child in self._children.get(pending.pop(), ()):
                found.append(child)
                if self._nodes.get(child.post_id) is child and child.post_id not in seen:
                    seen.add(child.post_id)
                    pending.append(child.post_id)
        return found

    def to_bytes(self) -> bytes:
        return _encoder.encode(_Snapshot(self.root_id, sorted(self._post_event_ids), list(self._replies.values())))

    @classmethod
    def from_bytes(cls, raw: bytes) -> ConversationState:
        snapshot = _decoder.decode(raw)
        state = cls(snapshot.root_id)
        state._post_event_ids.update(snapshot.post_event_ids)
        for reply in snapshot.replies:
            state._link(reply)
        return state
