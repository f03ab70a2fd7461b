"""Conversations (contract §3): reply depths, owner, participants, thread h-index — per reply.

Rules: the root post is depth 0; a reply whose ``parent_id`` is the root is depth 1; any other
reply is depth(parent) + 1, where the parent is a known reply of this conversation that has a
depth. Replies whose chain does not reach the root through known replies wait without a depth
until the missing replies arrive; a cycle never gets a depth. Two decisions the contract leaves
open:

* Several reply events with the same ``post_id`` ("claims"): the one first in (ts, id) order is
  the node that answers to that post id. The others still get a depth from their own parent, but
  nothing hangs below them. A newly arrived earlier claim takes the node over, and everything
  below the node is recomputed.
* A reply whose ``post_id`` is the root itself is nonsense: it never gets a depth, and is not a
  node (replies to the root are depth 1 anyway).

The owner is the actor of the post event publishing the root, the first in (ts, id) order.

How it is stored, so that one event costs the same in a thread of ten replies or a million: a
``Node`` entry per (root, post_id) holds that post id's claims and the list of the replies that
answer it (children, in chunks); a ``Conversation`` entry per root holds the figures; one entry
per (root, actor) counts replies by actor (participants, owner replies); one per (root, depth)
counts replies by depth (max depth, h-index). A new reply reads and writes a handful of entries,
plus one more for each reply whose depth it changes — a late parent gives depths to the replies
that waited for it, and only to them.

Outputs: a ``ThreadRow`` per changed conversation (at ``flush``), and to the owner's account a
``Reply`` contribution for every reply by someone else (see ``contributions``). Rows are stored
under their owner (NULL until the root post arrives), so when the owner changes the row sent
under the previous one is withdrawn: a ``deleted`` row for (previous owner, root), same version.
"""
from __future__ import annotations

from typing import Iterator, Protocol

import msgspec

from shared.domain.contributions import Payload, Post, Reply
from shared.domain.rows import Row, ThreadRow
from shared.domain.state import BatchState, EntryKind
from shared.events import Event

CHUNK = 256  # children / reply-index references per stored chunk: bounds every entry's size


class Outputs(Protocol):
    def change(self, account: str, old: Payload | None, new: Payload | None) -> None: ...

    def row(self, row: Row) -> None: ...


class Claim(msgspec.Struct, array_like=True, gc=False):
    """A reply event claiming a post id."""

    id: str
    ts: int
    parent_id: str
    actor: str
    depth: int | None = None


class Node(msgspec.Struct, array_like=True, gc=False):
    claims: list[Claim] = msgspec.field(default_factory=list)  # (ts, id) order: claims[0] is the node
    children: int = 0  # replies answering this post id, all chunks included
    child_tail: list[tuple[str, str]] = msgspec.field(default_factory=list)  # (post_id, event id)


class Conversation(msgspec.Struct, array_like=True, gc=False):
    owner: str | None = None
    owner_ts: int = 0
    owner_post: str = ""  # id of the post event that made ``owner`` the owner
    post_events: list[str] = msgspec.field(default_factory=list)
    replies: int = 0
    actors: int = 0  # distinct reply actors, owner included
    max_depth: int = 0
    h_index: int = 0
    first_reply: int = 0
    last_reply: int = 0
    shares: int = 0  # counted shares / likes of the root post (``engagement``)
    likes: int = 0
    reply_tail: list[tuple[str, str]] = msgspec.field(default_factory=list)  # (post_id, event id)


CONVERSATION = EntryKind("c", Conversation)  # (root)
NODE = EntryKind("n", Node)  # (root, post_id)
CHILDREN = EntryKind("k", list[tuple[str, str]])  # (root, post_id, chunk number)
REPLIES = EntryKind("i", list[tuple[str, str]])  # (root, chunk number): every reply, for owner changes
BY_ACTOR = EntryKind("a", int)  # (root, actor) -> replies
BY_DEPTH = EntryKind("d", int)  # (root, depth) -> replies with exactly that depth


class Conversations:
    """The conversation rules over one batch's state. Call ``flush`` at the end of the batch."""

    def __init__(self, state: BatchState, out: Outputs) -> None:
        self.state = state
        self.out = out
        self._changed: dict[str, int] = {}  # root -> position of its last change
        self._stale: set[tuple[str, str]] = set()  # (root, "max"|"h") to recompute after the event
        self._left: dict[str, set[str | None]] = {}  # root -> owners its row may have been sent under

    # --- events ---------------------------------------------------------------------------
    def add_post(self, event: Event, position: int) -> None:
        root, actor = event.post_id, event.actor
        conversation = self.conversation(root)
        if event.id in conversation.post_events:
            return
        conversation.post_events.append(event.id)
        self.out.change(actor, None, Post(event.ts))  # type: ignore[arg-type]
        if conversation.owner is None or (event.ts, event.id) < (conversation.owner_ts, conversation.owner_post):
            previous = conversation.owner
            conversation.owner, conversation.owner_ts, conversation.owner_post = actor, event.ts, event.id
            if previous != actor:
                self._reattribute(root, conversation, previous, actor)  # type: ignore[arg-type]
                if conversation.replies:  # a row may have been sent under the previous owner
                    self._left.setdefault(root, set()).add(previous)
        self._save(root, conversation, position)

    def add_reply(self, event: Event, position: int) -> None:
        root, post_id, parent_id = event.root_id, event.post_id, event.parent_id
        node = self.state.get(NODE, root, post_id) or Node()
        if any(claim.id == event.id for claim in node.claims):
            return  # already held: a duplicate delivery
        conversation = self.conversation(root)  # type: ignore[arg-type]
        claim = Claim(event.id, event.ts, parent_id, event.actor)  # type: ignore[arg-type]
        self._count_reply(root, conversation, claim, post_id)  # type: ignore[arg-type]

        previous = node.claims[0] if node.claims else None
        node.claims.append(claim)
        node.claims.sort(key=lambda c: (c.ts, c.id))
        self.state.put(NODE, node, root, post_id)
        if parent_id != root:
            self._add_child(root, parent_id, post_id, event.id)  # type: ignore[arg-type]

        is_node = post_id != root and node.claims[0] is claim
        if not is_node or previous is None:
            # A new node, or a claim that is no node: nothing hangs below it with a depth yet
            # (a post id without a node can give no depth to what waits below it).
            self._set_depth(root, conversation, post_id, claim, self._depth_from_parent(root, claim, post_id))
            self._announce(conversation, claim, new=True)
            if is_node and claim.depth is not None:
                self._cascade(root, conversation, post_id)
        else:
            self._take_over(root, conversation, post_id, claim, previous)
        self._settle(root, conversation)
        self._save(root, conversation, position)

    def add_engagement(self, root: str, kind: str, delta: int, position: int) -> None:
        """A counted share or like of post ``root`` appeared (+1) or vanished (-1)."""
        conversation = self.conversation(root)
        if kind == "share":
            conversation.shares += delta
        else:
            conversation.likes += delta
        self._save(root, conversation, position)

    def flush(self) -> None:
        """Send the row of every conversation changed in this batch that has replies."""
        for root, position in self._changed.items():
            conversation = self.state.get(CONVERSATION, root)
            if conversation is None or not conversation.replies:
                continue
            owner = conversation.owner
            owner_replies = (self.state.get(BY_ACTOR, root, owner) or 0) if owner is not None else 0
            row = ThreadRow(
                root_id=root, owner=owner, replies=conversation.replies, max_depth=conversation.max_depth,
                participants=conversation.actors - (1 if owner_replies else 0), owner_replies=owner_replies,
                first_reply_at=conversation.first_reply, last_reply_at=conversation.last_reply,
                h_index=conversation.h_index, shares=conversation.shares, likes=conversation.likes,
                version=position)
            # The withdrawal carries the current figures: its last reply is the latest, so a read
            # of the rows replied to since T sees it whenever it sees the row it withdraws.
            for previous in self._left.get(root, ()):
                if previous != owner:
                    self.out.row(msgspec.structs.replace(row, owner=previous, deleted=True))
            self.out.row(row)
        self._changed.clear()
        self._left.clear()

    # --- state helpers ----------------------------------------------------------------------
    def conversation(self, root: str) -> Conversation:
        return self.state.get(CONVERSATION, root) or Conversation()

    def _save(self, root: str, conversation: Conversation, position: int) -> None:
        self.state.put(CONVERSATION, conversation, root)
        self._changed[root] = position

    def _count_reply(self, root: str, conversation: Conversation, claim: Claim, post_id: str) -> None:
        if not conversation.replies or claim.ts < conversation.first_reply:
            conversation.first_reply = claim.ts
        if not conversation.replies or claim.ts > conversation.last_reply:
            conversation.last_reply = claim.ts
        conversation.replies += 1
        by_actor = (self.state.get(BY_ACTOR, root, claim.actor) or 0) + 1
        self.state.put(BY_ACTOR, by_actor, root, claim.actor)
        if by_actor == 1:
            conversation.actors += 1
        conversation.reply_tail.append((post_id, claim.id))
        if len(conversation.reply_tail) == CHUNK:  # a full chunk moves to its own entry
            self.state.put(REPLIES, conversation.reply_tail, root, (conversation.replies - 1) // CHUNK)
            conversation.reply_tail = []

    def _add_child(self, root: str, parent_id: str, post_id: str, event_id: str) -> None:
        parent = self.state.get(NODE, root, parent_id) or Node()
        parent.child_tail.append((post_id, event_id))
        parent.children += 1
        if len(parent.child_tail) == CHUNK:
            self.state.put(CHILDREN, parent.child_tail, root, parent_id, (parent.children - 1) // CHUNK)
            parent.child_tail = []
        self.state.put(NODE, parent, root, parent_id)

    def _children(self, root: str, post_id: str) -> Iterator[tuple[str, str]]:
        node = self.state.get(NODE, root, post_id)
        if node is None:
            return
        for chunk in range(node.children // CHUNK):
            yield from self.state.get(CHILDREN, root, post_id, chunk) or ()
        yield from list(node.child_tail)

    def _all_replies(self, root: str, conversation: Conversation) -> Iterator[tuple[str, str]]:
        for chunk in range(conversation.replies // CHUNK):
            yield from self.state.get(REPLIES, root, chunk) or ()
        yield from list(conversation.reply_tail)

    def _claim(self, root: str, post_id: str, event_id: str) -> tuple[Node, Claim]:
        node = self.state.get(NODE, root, post_id)
        assert node is not None, f"reply {event_id!r} indexed but not stored"
        return node, next(c for c in node.claims if c.id == event_id)

    # --- depths ---------------------------------------------------------------------------
    def _node_depth(self, root: str, post_id: str) -> int | None:
        if post_id == root:
            return 0
        node = self.state.get(NODE, root, post_id)
        return node.claims[0].depth if node is not None and node.claims else None

    def _depth_from_parent(self, root: str, claim: Claim, post_id: str) -> int | None:
        if post_id == root:
            return None
        parent = self._node_depth(root, claim.parent_id)
        return None if parent is None else parent + 1

    def _cascade(self, root: str, conversation: Conversation, post_id: str, announce: bool = True) -> None:
        """Give the replies below node ``post_id`` the depths that follow from its depth; walk
        on only below the nodes whose depth changed. Costs O(replies whose depth changes)."""
        pending, seen = [post_id], {post_id}
        while pending:
            parent = pending.pop()
            parent_depth = self._node_depth(root, parent)
            for child_post, child_id in self._children(root, parent):
                node, child = self._claim(root, child_post, child_id)
                depth = None if child_post == root or parent_depth is None else parent_depth + 1
                if child.depth == depth:
                    continue
                before = child.depth
                self._set_depth(root, conversation, child_post, child, depth, node)
                if announce:
                    self._announce(conversation, child, old_depth=before)
                if node.claims[0] is child and child_post not in seen:
                    seen.add(child_post)
                    pending.append(child_post)

    def _take_over(self, root: str, conversation: Conversation, post_id: str, claim: Claim, previous: Claim) -> None:
        """An earlier claim became the node of ``post_id``. The previous node keeps its own depth
        (from its own parent); what hangs below the node depends on the new node's depth."""
        depth = None if self._reaches(root, claim.parent_id, post_id) else self._depth_from_parent(root, claim, post_id)
        if depth == previous.depth:
            self._set_depth(root, conversation, post_id, claim, depth)
            self._announce(conversation, claim, new=True)
            return
        # Forget every depth below the node, then derive them again top-down from the new node.
        # A cycle through the node (its parent hangs below it) so stays without depth.
        below = self._below(root, post_id)
        before = {id(c): c.depth for _, _, c in below}
        for child_post, node, child in below:
            if child.depth is not None:
                self._set_depth(root, conversation, child_post, child, None, node)
        self._set_depth(root, conversation, post_id, claim, depth)
        if depth is not None:
            self._cascade(root, conversation, post_id, announce=False)
        self._announce(conversation, claim, new=True)
        for _, _, child in below:
            if child is not claim and child.depth != before[id(child)]:
                self._announce(conversation, child, old_depth=before[id(child)])

    def _reaches(self, root: str, start: str, target: str) -> bool:
        """Whether the node chain from ``start`` up towards the root passes through ``target``."""
        current, seen = start, set()
        while current != root and current not in seen:
            if current == target:
                return True
            seen.add(current)
            node = self.state.get(NODE, root, current)
            if node is None or not node.claims:
                return False
            current = node.claims[0].parent_id
        return False

    def _below(self, root: str, post_id: str) -> list[tuple[str, Node, Claim]]:
        """Every reply whose depth depends on node ``post_id`` (its subtree through nodes)."""
        found, seen, pending = [], {post_id}, [post_id]
        while pending:
            for child_post, child_id in self._children(root, pending.pop()):
                node, child = self._claim(root, child_post, child_id)
                found.append((child_post, node, child))
                if node.claims[0] is child and child_post not in seen:
                    seen.add(child_post)
                    pending.append(child_post)
        return found

    def _set_depth(self, root: str, conversation: Conversation, post_id: str, claim: Claim,
                   depth: int | None, node: Node | None = None) -> None:
        """Change one claim's depth and keep the depth counts, max depth and h-index right."""
        old, claim.depth = claim.depth, depth
        self.state.put(NODE, node or self.state.get(NODE, root, post_id), root, post_id)
        if old == depth:
            return
        if old is not None:
            count = self.state.get(BY_DEPTH, root, old) - 1
            self.state.put(BY_DEPTH, count, root, old)
            if old == conversation.max_depth and count == 0:
                self._stale.add((root, "max"))
            if old == conversation.h_index and count < old:
                self._stale.add((root, "h"))
        if depth is not None:
            count = (self.state.get(BY_DEPTH, root, depth) or 0) + 1
            self.state.put(BY_DEPTH, count, root, depth)
            if depth >= conversation.max_depth:
                conversation.max_depth = depth
                self._stale.discard((root, "max"))
            if count >= depth >= conversation.h_index:
                conversation.h_index = depth
                self._stale.discard((root, "h"))

    def _settle(self, root: str, conversation: Conversation) -> None:
        """Recompute a max depth or h-index that a lowered depth made stale (takeovers only)."""
        if (root, "max") in self._stale:
            while conversation.max_depth and not self.state.get(BY_DEPTH, root, conversation.max_depth):
                conversation.max_depth -= 1
        if (root, "h") in self._stale:
            while conversation.h_index and (self.state.get(BY_DEPTH, root, conversation.h_index) or 0) < conversation.h_index:
                conversation.h_index -= 1
        self._stale.clear()

    # --- the owner's account --------------------------------------------------------------
    def _announce(self, conversation: Conversation, claim: Claim, *, new: bool = False,
                  old_depth: int | None = None) -> None:
        """Tell the owner's account about a new reply by someone else, or its changed depth."""
        owner = conversation.owner
        if owner is None or claim.actor == owner:
            return
        old = None if new else Reply(claim.actor, claim.ts, old_depth)
        self.out.change(owner, old, Reply(claim.actor, claim.ts, claim.depth))

    def _reattribute(self, root: str, conversation: Conversation, previous: str | None, owner: str) -> None:
        """The owner changed: every reply moves from the previous owner's figures to the new one's."""
        for post_id, event_id in self._all_replies(root, conversation):
            _, claim = self._claim(root, post_id, event_id)
            contribution = Reply(claim.actor, claim.ts, claim.depth)
            if previous is not None and claim.actor != previous:
                self.out.change(previous, contribution, None)
            if claim.actor != owner:
                self.out.change(owner, None, contribution)

