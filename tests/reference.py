"""Reference implementation of the contract's ClickHouse views (contract §3 and §4): the oracle
of the end-to-end tests.

Slow and plain on purpose: every figure is computed from its definition over the whole event
set, with no incremental state, and without importing the production rules (``shared.domain``),
so that the two check each other.

Representation: times (``ts``, ``received_at``, ``since``, ``first_reply_at``, ...) are int epoch
milliseconds (UTC); ``day`` is a ``datetime.date`` (UTC calendar day); rates are float or None;
counts are int. Rows are sorted by the view's key.

Decisions where the contract is silent:
* Events sharing an id: the first one given counts.
* "At the end of the day" means at the day's last millisecond, so every event of the day counts.
* ``churn_rate`` divides by the followers at the end of the previous calendar day, whether or
  not that day has a row.
* A reply creates an ``account_daily`` row for the conversation's owner only when someone else
  wrote it: the contract's "received a reply" matches ``replies_received``, which excludes the
  owner's own replies.
* Owner: when several ``post`` events publish the root, the first in (ts, id) order.
* Depth: when several reply events of a conversation share a ``post_id``, the first in (ts, id)
  order is the reply answering to that id as a parent (the others still take their depth from
  their own parent). A reply whose ``post_id`` is the root has no depth.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Iterable

from shared.events import Event

DAY_MS = 86_400_000
EPOCH_DAY = date(1970, 1, 1)
EVENT_COLUMNS = ("id", "type", "ts", "actor", "target", "post_id", "parent_id", "root_id", "url", "received_at")


def day_of(ts: int) -> date:
    return EPOCH_DAY + timedelta(days=ts // DAY_MS)


def end_of_day(day: date) -> int:
    return (day - EPOCH_DAY).days * DAY_MS + DAY_MS - 1


def distinct_in_order(events: Iterable[Event]) -> list[Event]:
    """Distinct events by id (the first occurrence wins), ordered by (ts, id)."""
    by_id: dict[str, Event] = {}
    for event in events:
        by_id.setdefault(event.id, event)
    return sorted(by_id.values(), key=lambda e: (e.ts, e.id))


class FollowGraph:
    def __init__(self, ordered: list[Event]) -> None:
        # (follower, account) -> its follow/unfollow events in (ts, id) order
        self.edges: dict[tuple[str, str], list[Event]] = defaultdict(list)
        for e in ordered:
            if e.type in ("follow", "unfollow"):
                self.edges[(e.actor, e.target)].append(e)

    def active(self, follower: str, account: str, t: float) -> bool:
        latest = [e for e in self.edges.get((follower, account), []) if e.ts <= t]
        return bool(latest) and latest[-1].type == "follow"

    def transitions(self, follower: str, account: str) -> list[tuple[int, int]]:
        """(ts, +1 or -1) for every inactive→active or active→inactive change of the edge."""
        changes, active = [], False
        for e in self.edges[(follower, account)]:
            if (e.type == "follow") != active:
                active = not active
                changes.append((e.ts, 1 if active else -1))
        return changes

    def followers(self, account: str, t: float) -> set[str]:
        return {f for (f, a) in self.edges if a == account and self.active(f, account, t)}

    def mutuals(self, account: str, t: float) -> set[str]:
        return {f for f in self.followers(account, t) if self.active(account, f, t)}


class Conversations:
    def __init__(self, ordered: list[Event]) -> None:
        self.owner: dict[str, str] = {}
        self.replies: dict[str, list[Event]] = defaultdict(list)  # root_id -> replies
        for e in ordered:
            if e.type == "post":
                self.owner.setdefault(e.post_id, e.actor)  # the first in (ts, id) order
            elif e.type == "reply":
                self.replies[e.root_id].append(e)
        self.depth = {r.id: d for root_id in self.replies for r, d in reply_depths(root_id, self.replies[root_id])}

    def owned_by(self, account: str) -> list[Event]:
        """Every reply in conversations owned by ``account``."""
        return [r for root_id, replies in self.replies.items() if self.owner.get(root_id) == account for r in replies]


def reply_depths(root_id: str, replies: list[Event]) -> list[tuple[Event, int | None]]:
    """Each reply of one conversation with its depth (None: no chain to the root, or a cycle)."""
    node: dict[str, Event] = {}  # post_id -> the reply answering to it as a parent
    for r in sorted(replies, key=lambda e: (e.ts, e.id)):
        if r.post_id != root_id:
            node.setdefault(r.post_id, r)

    def depth(reply: Event) -> int | None:
        if reply.post_id == root_id:
            return None
        steps, parent_id, visited = 1, reply.parent_id, set()
        while parent_id != root_id:
            if parent_id not in node or parent_id in visited:
                return None
            visited.add(parent_id)
            parent_id = node[parent_id].parent_id
            steps += 1
        return steps

    return [(r, depth(r)) for r in replies]


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def compute_views(events: Iterable[Event]) -> dict[str, list[dict]]:
    """The rows of ``events``, ``account_daily``, ``threads`` and ``followers`` for an event set."""
    ordered = distinct_in_order(events)
    graph = FollowGraph(ordered)
    conversations = Conversations(ordered)
    return {
        "events": [{c: getattr(e, c) for c in EVENT_COLUMNS} for e in ordered],
        "account_daily": _account_daily(ordered, graph, conversations),
        "threads": _threads(conversations),
        "followers": _followers(ordered, graph, conversations),
    }


def _account_daily(ordered: list[Event], graph: FollowGraph, conversations: Conversations) -> list[dict]:
    def received(account: str) -> list[Event]:
        return [r for r in conversations.owned_by(account) if r.actor != account]

    keys = set()
    for e in ordered:
        if e.type in ("follow", "unfollow", "click"):
            keys.add((e.target, day_of(e.ts)))
        elif e.type == "post":
            keys.add((e.actor, day_of(e.ts)))
        elif e.type == "reply" and conversations.owner.get(e.root_id) not in (None, e.actor):
            keys.add((conversations.owner[e.root_id], day_of(e.ts)))

    rows = []
    for account, day in sorted(keys):
        end = end_of_day(day)
        followers = len(graph.followers(account, end))
        changes = [delta for (f, a) in graph.edges if a == account
                   for ts, delta in graph.transitions(f, a) if day_of(ts) == day]
        unfollows = changes.count(-1)
        replies = [r for r in received(account) if day_of(r.ts) == day]
        clicks = [e for e in ordered if e.type == "click" and e.target == account and day_of(e.ts) == day]
        rows.append({
            "account": account,
            "day": day,
            "followers": followers,
            "follows_gained": changes.count(1),
            "unfollows": unfollows,
            "mutuals": len(graph.mutuals(account, end)),
            "churn_rate": _rate(unfollows, len(graph.followers(account, end - DAY_MS))),
            "replies_received": len(replies),
            "unique_repliers": len({r.actor for r in replies}),
            "max_thread_depth": max((conversations.depth[r.id] for r in replies
                                     if conversations.depth[r.id] is not None), default=0),
            "clicks": len(clicks),
            "unique_clickers": len({c.actor for c in clicks if c.actor is not None}),
            "follower_clicks": sum(1 for c in clicks if c.actor is not None and graph.active(c.actor, account, c.ts)),
            "clicks_per_follower": _rate(len(clicks), followers),
            "engagement_per_follower": _rate(len(replies) + len(clicks), followers),
        })
    return rows


def _threads(conversations: Conversations) -> list[dict]:
    rows = []
    for root_id in sorted(conversations.replies):
        replies = conversations.replies[root_id]
        owner = conversations.owner.get(root_id)
        rows.append({
            "root_id": root_id,
            "owner": owner,
            "replies": len(replies),
            "max_depth": max((conversations.depth[r.id] for r in replies
                              if conversations.depth[r.id] is not None), default=0),
            "participants": len({r.actor for r in replies if r.actor != owner}),
            "owner_replies": sum(1 for r in replies if r.actor == owner),
            "first_reply_at": min(r.ts for r in replies),
            "last_reply_at": max(r.ts for r in replies),
        })
    return rows


def _followers(ordered: list[Event], graph: FollowGraph, conversations: Conversations) -> list[dict]:
    now = float("inf")
    rows = []
    for follower, account in sorted(graph.edges):
        if not graph.active(follower, account, now):
            continue
        replies = [r.ts for r in conversations.owned_by(account) if r.actor == follower]
        clicks = [e.ts for e in ordered if e.type == "click" and e.actor == follower and e.target == account]
        rows.append({
            "account": account,
            "follower": follower,
            "since": graph.transitions(follower, account)[-1][0],  # the last change, a rise: it is active
            "mutual": graph.active(account, follower, now),
            "replies": len(replies),
            "clicks": len(clicks),
            "last_interaction_at": max(replies + clicks, default=None),
        })
    rows.sort(key=lambda row: (row["account"], row["follower"]))
    return rows
