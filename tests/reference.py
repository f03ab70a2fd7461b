"""Reference implementation of the contract's ClickHouse views (contract §3, §4 and the v1.1
additions of §6): the oracle of the end-to-end tests.

Slow and plain on purpose: every figure is computed from its definition over the whole event
set, with no incremental state, and without importing the production rules (``shared.domain``),
so that the two check each other.

Representation: times (``ts``, ``received_at``, ``since``, ``first_reply_at``, ...) are int epoch
milliseconds (UTC); ``day`` is a ``datetime.date`` (UTC calendar day); rates are float or None;
counts are int; money (``revenue``, ``refunded``, ``kept_revenue``) is ``decimal.Decimal``, exact.
Rows are sorted by the view's key.

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

v1.1 (contract §6), decisions where it is silent:
* ``posts`` counts ``post`` events (distinct ids), also several publishing one ``post_id``.
* Shares and likes: the first event per (type, actor, post_id) in (ts, id) order is *the* share
  (like) of that actor; if it is a self-share (actor = its target) it counts nowhere, and the
  later ones count nothing either, whatever their target. A counted share counts for its own
  ``target`` (the account it names), on its own day: in ``shares_received``, in the follower
  ledger of (target, actor) when actor follows target now, and in ``threads.shares`` when its
  ``post_id`` is a conversation's root. Uncounted events (repeats) are no interaction at all:
  they move no ``last_interaction_at``. Likewise for likes.
* Orders: the first ``conversion`` per ``order_id`` in (ts, id) order is the order, with its own
  target, actor and value; the others count nothing anywhere (not even as an interaction).
* Refunds: all refunds of an order apply in (ts, id) order once the order exists, also those
  dated before it: a refund that arrived before its order counts, when the order arrives, on the
  refund's own day (a day may then have refunds but no revenue, and a negative
  ``kept_revenue``). Each applies min(its value, or the remainder when absent; the remainder);
  an applied 0 (an order already refunded in full, or a free order) is no refund: it creates no
  row. A refund is attributed to the order's target; its own ``actor`` is ignored: the follower
  figures (``followers.kept_revenue``) use the ORDER's actor. Refunds are no interaction (only the
  order is, at the order's ts).
* ``follower_conversions``: orders whose actor (non-null) had an active edge actor→target at the
  order's ts (as ``follower_clicks``).
* ``value_per_follower`` is a rate (Float64, like the others): kept_revenue / followers at the
  end of the day, computed exactly and then rounded to a float; None when there are no followers.
* ``followers``: ``shares``, ``likes``, ``conversions`` and ``kept_revenue`` are all-time (also
  from before the edge became active), like ``replies`` and ``clicks``.
* ``threads.h_index``: counted over every reply of the conversation with a depth (the owner's
  included); a reply without a depth has none.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Iterable

from shared.events import Event

DAY_MS = 86_400_000
EPOCH_DAY = date(1970, 1, 1)
EVENT_COLUMNS = ("id", "type", "ts", "actor", "target", "post_id", "parent_id", "root_id", "url", "received_at")
ZERO = Decimal(0)


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


def counted_reactions(ordered: list[Event], kind: str) -> list[Event]:
    """The shares (``kind`` = "share") or likes that count: the first per (actor, post_id) in
    (ts, id) order, unless it is a self-share."""
    first: dict[tuple[str, str], Event] = {}
    for e in ordered:
        if e.type == kind:
            first.setdefault((e.actor, e.post_id), e)
    return [e for e in first.values() if e.actor != e.target]


class Orders:
    def __init__(self, ordered: list[Event]) -> None:
        self.orders: dict[str, Event] = {}  # order_id -> its first conversion in (ts, id) order
        for e in ordered:
            if e.type == "conversion":
                self.orders.setdefault(e.order_id, e)
        # (refund event, its order, the amount it refunds) for every refund of a known order
        self.refunds: list[tuple[Event, Event, Decimal]] = []
        for order_id, order in self.orders.items():
            remainder = order.value
            for refund in [e for e in ordered if e.type == "refund" and e.order_id == order_id]:
                amount = min(refund.value if refund.value is not None else remainder, remainder)
                remainder -= amount
                self.refunds.append((refund, order, amount))

    def refunded(self, order: Event) -> Decimal:
        return sum((amount for _, o, amount in self.refunds if o is order), ZERO)


def _rate(numerator: int | Decimal, denominator: int) -> float | None:
    return float(numerator / denominator) if denominator else None


def compute_views(events: Iterable[Event]) -> dict[str, list[dict]]:
    """The rows of ``events``, ``account_daily``, ``threads`` and ``followers`` for an event set."""
    ordered = distinct_in_order(events)
    graph = FollowGraph(ordered)
    conversations = Conversations(ordered)
    shares, likes = counted_reactions(ordered, "share"), counted_reactions(ordered, "like")
    orders = Orders(ordered)
    return {
        "events": [{c: getattr(e, c) for c in EVENT_COLUMNS} for e in ordered],
        "account_daily": _account_daily(ordered, graph, conversations, shares, likes, orders),
        "threads": _threads(conversations, shares, likes),
        "followers": _followers(ordered, graph, conversations, shares, likes, orders),
    }


def _account_daily(ordered: list[Event], graph: FollowGraph, conversations: Conversations,
                   shares: list[Event], likes: list[Event], orders: Orders) -> list[dict]:
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
    keys.update((e.target, day_of(e.ts)) for e in shares + likes + list(orders.orders.values()))
    keys.update((order.target, day_of(refund.ts)) for refund, order, amount in orders.refunds if amount > 0)

    rows = []
    for account, day in sorted(keys):
        end = end_of_day(day)
        followers = len(graph.followers(account, end))
        changes = [delta for (f, a) in graph.edges if a == account
                   for ts, delta in graph.transitions(f, a) if day_of(ts) == day]
        unfollows = changes.count(-1)
        replies = [r for r in received(account) if day_of(r.ts) == day]
        clicks = [e for e in ordered if e.type == "click" and e.target == account and day_of(e.ts) == day]
        day_orders = [o for o in orders.orders.values() if o.target == account and day_of(o.ts) == day]
        revenue = sum((o.value for o in day_orders), ZERO)
        refunded = sum((amount for refund, order, amount in orders.refunds
                        if order.target == account and day_of(refund.ts) == day), ZERO)
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
            "posts": sum(1 for e in ordered if e.type == "post" and e.actor == account and day_of(e.ts) == day),
            "shares_received": sum(1 for e in shares if e.target == account and day_of(e.ts) == day),
            "likes_received": sum(1 for e in likes if e.target == account and day_of(e.ts) == day),
            "conversions": len(day_orders),
            "follower_conversions": sum(1 for o in day_orders
                                        if o.actor is not None and graph.active(o.actor, account, o.ts)),
            "revenue": revenue,
            "refunded": refunded,
            "kept_revenue": revenue - refunded,
            "value_per_follower": _rate(revenue - refunded, followers),
        })
    return rows


def h_index(depths: list[int]) -> int:
    """The largest h such that at least h of the depths are exactly h (0 when none)."""
    return max((h for h in set(depths) if h >= 1 and depths.count(h) >= h), default=0)


def _threads(conversations: Conversations, shares: list[Event], likes: list[Event]) -> list[dict]:
    rows = []
    for root_id in sorted(conversations.replies):
        replies = conversations.replies[root_id]
        owner = conversations.owner.get(root_id)
        depths = [conversations.depth[r.id] for r in replies if conversations.depth[r.id] is not None]
        rows.append({
            "root_id": root_id,
            "owner": owner,
            "replies": len(replies),
            "max_depth": max(depths, default=0),
            "participants": len({r.actor for r in replies if r.actor != owner}),
            "owner_replies": sum(1 for r in replies if r.actor == owner),
            "first_reply_at": min(r.ts for r in replies),
            "last_reply_at": max(r.ts for r in replies),
            "h_index": h_index(depths),
            "shares": sum(1 for e in shares if e.post_id == root_id),
            "likes": sum(1 for e in likes if e.post_id == root_id),
        })
    return rows


def _followers(ordered: list[Event], graph: FollowGraph, conversations: Conversations,
               shares: list[Event], likes: list[Event], orders: Orders) -> list[dict]:
    now = float("inf")
    rows = []
    for follower, account in sorted(graph.edges):
        if not graph.active(follower, account, now):
            continue
        replies = [r.ts for r in conversations.owned_by(account) if r.actor == follower]
        clicks = [e.ts for e in ordered if e.type == "click" and e.actor == follower and e.target == account]
        shared = [e.ts for e in shares if e.actor == follower and e.target == account]
        liked = [e.ts for e in likes if e.actor == follower and e.target == account]
        bought = [o for o in orders.orders.values() if o.actor == follower and o.target == account]
        rows.append({
            "account": account,
            "follower": follower,
            "since": graph.transitions(follower, account)[-1][0],  # the last change, a rise: it is active
            "mutual": graph.active(account, follower, now),
            "replies": len(replies),
            "clicks": len(clicks),
            "last_interaction_at": max(replies + clicks + shared + liked + [o.ts for o in bought], default=None),
            "shares": len(shared),
            "likes": len(liked),
            "conversions": len(bought),
            "kept_revenue": sum((o.value - orders.refunded(o) for o in bought), ZERO),
        })
    rows.sort(key=lambda row: (row["account"], row["follower"]))
    return rows
