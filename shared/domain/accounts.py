"""The account rules (stage 2): every per-account figure of ``account_daily`` and ``followers``,
maintained as contributions change (contract §3, §4 and §6).

Input: sets of ``Change``s from the event rules, partitioned by account, each change replacing
one old contribution by a new one. This module keeps per account:

* a ``Day`` per (account, day): the day's sums (follows gained and lost, replies, clicks, posts,
  shares, likes, orders, revenue, refunds…), its depth histogram, and the followers and mutuals
  at the end of the day. A late follow changes the end-of-day counts of every later day of that
  account, so those days are rewritten — the cost is the number of days after it, never the
  number of events;
* a ``Ledger`` per (account, other account): the follow edge other→account as the ledger shows
  it, all-time interactions, and the edge's timeline (follow/unfollow events), which decides
  whether a click or an order came from a follower at its time. When the timeline changes (a
  late follow), the clicks and orders of that follower after it are judged again;
* the interactions of each (account, other, day): how many of each kind (distinct repliers and
  clickers of the day) and the time of each — what judging clicks and orders again and finding
  the last interaction need — inline while the day has few, then one entry per 5-second bucket.
  However often one account clicks on another, no entry outgrows a bucket or a day's bucket list.

Exactly once: every change carries (source partition, position, index), increasing along its
source's input, and a replayed source re-sends the same changes with the same numbers; each
source's high-water mark is state, so a change is applied at most once, and — because the
processor makes a batch's outputs durable before its state — at least once.

Outputs: the rows of every (account, day) and ledger entry changed by a batch, at ``flush``.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from decimal import Decimal

import msgspec

from shared.domain.contributions import (Click, Edge, FollowerEdge, Like, Mutual, Order, Payload, Post, Refund,
                                         Reply, Sequenced, Share)
from shared.domain.conversation import Outputs
from shared.domain.rows import AccountDayRow, FollowerRow
from shared.domain.state import BatchState, EntryKind

DAY_MS = 86_400_000
ZERO = Decimal(0)
_UNREAD = object()


def day_of(ts: int) -> int:
    return ts // DAY_MS


class AccountDays(msgspec.Struct, array_like=True, gc=False):
    days: list[int] = msgspec.field(default_factory=list)  # every day with a Day entry, ascending


class Day(msgspec.Struct, array_like=True, gc=False):
    edge_events: int = 0  # follows/unfollows with this account as target: they qualify the day
    net_followers: int = 0
    gained: int = 0
    lost: int = 0
    net_mutuals: int = 0
    followers: int = 0  # at the end of the day
    mutuals: int = 0  # at the end of the day
    replies: int = 0
    repliers: int = 0
    depths: dict[int, int] = msgspec.field(default_factory=dict)  # depth -> replies received
    clicks: int = 0
    clickers: int = 0
    follower_clicks: int = 0
    posts: int = 0
    shares: int = 0
    likes: int = 0
    conversions: int = 0
    follower_conversions: int = 0
    revenue: Decimal = ZERO
    refunded: Decimal = ZERO

    @property
    def qualifies(self) -> bool:
        return bool(self.edge_events or self.posts or self.replies or self.clicks or self.shares or self.likes
                    or self.conversions or self.refunded > 0)


class Ledger(msgspec.Struct, array_like=True, gc=False):
    active: bool = False
    since: int | None = None
    mutual: bool = False
    replies: int = 0
    clicks: int = 0
    shares: int = 0
    likes: int = 0
    conversions: int = 0
    kept_revenue: Decimal = ZERO
    last_interaction: int | None = None
    timeline: list[tuple[int, str, bool]] = msgspec.field(default_factory=list)  # (ts, event id, active at ts)
    days: list[int] = msgspec.field(default_factory=list)  # days with interactions, ascending
    # The edge other→account has events. Only such entries get rows (active or not): an entry
    # that never had an edge never had an active row, and every other changed entry is sent
    # again, so a row sent by a batch that was then replayed is always superseded.
    edge: bool = False


class Moments(msgspec.Struct, array_like=True, gc=False):
    """When interactions happened, per kind: ms (within a bucket, or within the day while held
    inline by the day's ``Interactions``) -> how many at that ms."""

    replies: dict[int, int] = msgspec.field(default_factory=dict)
    clicks: dict[int, int] = msgspec.field(default_factory=dict)
    orders: dict[int, int] = msgspec.field(default_factory=dict)
    others: dict[int, int] = msgspec.field(default_factory=dict)  # shares and likes

    def __bool__(self) -> bool:
        return bool(self.replies or self.clicks or self.orders or self.others)

    def latest(self) -> int | None:
        return max((max(kept) for kept in (self.replies, self.clicks, self.orders, self.others) if kept),
                   default=None)

    def between(self, kind: str, start: int, end: int) -> int:
        """How many interactions of ``kind`` at ms start <= t < end."""
        return sum(n for t, n in getattr(self, kind).items() if start <= t < end)


class Interactions(msgspec.Struct, array_like=True, gc=False):
    """What one other account did to the account on one day: how many of each kind, and when —
    held inline while the day has at most SPILL_AT of them (nearly every pair: one entry), then
    in one ``Moments`` entry per bucket (``inline`` None; ``buckets`` lists the non-empty ones)."""

    replies: int = 0
    clicks: int = 0
    orders: int = 0
    others: int = 0
    inline: Moments | None = msgspec.field(default_factory=Moments)
    buckets: list[int] = msgspec.field(default_factory=list)  # ascending

    def total(self) -> int:
        return self.replies + self.clicks + self.orders + self.others


# Entries bounded by time, not by how busy a pair is: a bucket holds at most 5,000 distinct ms per
# kind (< 160 KiB), a day at most 17,280 buckets (~50 KiB), both below MAX_ENTRY_BYTES (256 KiB).
BUCKET_MS = 5_000
SPILL_AT = 1_000  # inline times: < 14 KiB


SOURCES = EntryKind("q", tuple[int, int])  # (source partition) -> last applied (position, index)
ACCOUNT = EntryKind("A", AccountDays)  # (account)
DAY = EntryKind("D", Day)  # (account, day)
LEDGER = EntryKind("L", Ledger)  # (account, other account)
# Tags of entries whose layout changed are new ("I" held a day's times in one entry).
INTERACTIONS = EntryKind("J", Interactions)  # (account, other account, day)
MOMENTS = EntryKind("m", Moments)  # (account, other account, day, bucket within the day)


def active_at(timeline: list[tuple[int, str, bool]], ts: int) -> bool:
    """Whether the edge was active at ``ts``: the state after its latest events with time <= ts."""
    index = bisect_right(timeline, (ts, "\U0010ffff", True))
    return index > 0 and timeline[index - 1][2]


class Accounts:
    """The account rules over one batch's state. Call ``flush`` at the end of the batch."""

    def __init__(self, state: BatchState, out: Outputs) -> None:
        self.state = state
        self.out = out
        self._touched: dict[str, int] = {}  # account -> position of its last change in this batch
        self._days: dict[tuple[str, int], Day] = {}  # (account, day) -> its Day, changed in this batch
        self._ledgers: dict[tuple[str, str], Ledger] = {}  # (account, other) -> its Ledger, likewise
        self._shifts: dict[str, dict[int, tuple[int, int]]] = {}  # account -> day -> (followers, mutuals)
        self._marks: dict[int, tuple[int, int] | None] = {}  # source -> highest (position, index) applied

    def apply(self, item: Sequenced, position: int) -> bool:
        """Apply one change unless it was applied already. ``position``: the change's position
        in the account rules' own input (the version of the rows it changes)."""
        # Each source's mark is read once per batch and written back at ``flush``.
        seen = self._marks.get(item.source, _UNREAD)
        if seen is _UNREAD:
            stored = self.state.get(SOURCES, item.source)
            seen = self._marks[item.source] = tuple(stored) if stored is not None else None
        mark = (item.position, item.index)
        if seen is not None and mark <= seen:
            return False
        self._marks[item.source] = mark
        account = item.account
        self._touched[account] = position
        for change in item.changes:
            old, new = change.old, change.new
            if isinstance(new, FollowerEdge):
                self._follower_edge(account, new)
            elif isinstance(old, Reply) and isinstance(new, Reply) and (old.actor, old.ts) == (new.actor, new.ts):
                self._reply_depth(account, old, new)
            else:
                if old is not None:
                    self._contribute(account, old, -1)
                if new is not None:
                    self._contribute(account, new, +1)
        return True

    def flush(self) -> None:
        """Send the rows of every (account, day) and ledger entry changed in this batch."""
        for source, mark in self._marks.items():
            if mark is not None:
                self.state.put(SOURCES, mark, source)
        self._marks.clear()
        self._apply_shifts()
        for (account, day), figures in self._days.items():
            self.out.row(self._day_row(account, day, figures, self._touched[account]))
        for (account, other), ledger in self._ledgers.items():
            if ledger.edge:
                self.out.row(_follower_row(account, other, ledger, self._touched[account]))
        self._days.clear()
        self._ledgers.clear()
        self._touched.clear()

    # --- contributions ----------------------------------------------------------------------
    def _contribute(self, account: str, payload: Payload, sign: int) -> None:
        """Add (sign +1) or take back (sign -1) one contribution to the account's figures."""
        self._RULES[type(payload)](self, account, payload, sign)

    def _reply(self, account: str, reply: Reply, sign: int) -> None:
        _, figures = self._day(account, reply.ts)
        figures.replies += sign
        if reply.depth is not None:
            _count(figures.depths, reply.depth, sign)
        ledger = self._ledger(account, reply.actor)
        ledger.replies += sign
        figures.repliers += self._interaction(account, reply.actor, ledger, reply.ts, "replies", sign)

    def _edge(self, account: str, edge: Edge, sign: int) -> None:
        day, figures = self._day(account, edge.ts)
        figures.edge_events += sign
        figures.net_followers += sign * edge.delta
        figures.gained += sign * (edge.delta == 1)
        figures.lost += sign * (edge.delta == -1)
        figures.net_mutuals += sign * edge.mutual_delta
        self._shift(account, day, sign * edge.delta, sign * edge.mutual_delta)
        ledger = self._ledger(account, edge.follower)
        before = list(ledger.timeline)
        entry = (edge.ts, edge.event_id, edge.active_at_ts)
        if sign > 0:
            insort(ledger.timeline, entry)
        else:
            ledger.timeline.remove(entry)
        self._judge_again(account, edge.follower, ledger, before, edge.ts)

    def _mutual(self, account: str, mutual: Mutual, sign: int) -> None:
        day, figures = self._day(account, mutual.ts)
        figures.net_mutuals += sign * mutual.mutual_delta
        self._shift(account, day, 0, sign * mutual.mutual_delta)

    def _click(self, account: str, click: Click, sign: int) -> None:
        _, figures = self._day(account, click.ts)
        figures.clicks += sign
        if click.actor is not None:
            ledger = self._ledger(account, click.actor)
            figures.follower_clicks += sign * active_at(ledger.timeline, click.ts)
            ledger.clicks += sign
            figures.clickers += self._interaction(account, click.actor, ledger, click.ts, "clicks", sign)

    def _post(self, account: str, post: Post, sign: int) -> None:
        _, figures = self._day(account, post.ts)
        figures.posts += sign

    def _share(self, account: str, share: Share, sign: int) -> None:
        self._applause(account, share, "shares", sign)

    def _like(self, account: str, like: Like, sign: int) -> None:
        self._applause(account, like, "likes", sign)

    def _applause(self, account: str, event: Share | Like, field: str, sign: int) -> None:
        """A share or a like: counted on its day and in the actor's ledger under the same name."""
        _, figures = self._day(account, event.ts)
        ledger = self._ledger(account, event.actor)
        setattr(figures, field, getattr(figures, field) + sign)
        setattr(ledger, field, getattr(ledger, field) + sign)
        self._interaction(account, event.actor, ledger, event.ts, "others", sign)

    def _order(self, account: str, order: Order, sign: int) -> None:
        _, figures = self._day(account, order.ts)
        figures.conversions += sign
        figures.revenue += sign * order.value
        if order.actor is not None:
            ledger = self._ledger(account, order.actor)
            figures.follower_conversions += sign * active_at(ledger.timeline, order.ts)
            ledger.conversions += sign
            ledger.kept_revenue += sign * order.value
            self._interaction(account, order.actor, ledger, order.ts, "orders", sign)

    def _refund(self, account: str, refund: Refund, sign: int) -> None:
        _, figures = self._day(account, refund.ts)
        figures.refunded += sign * refund.amount
        if refund.order_actor is not None:
            ledger = self._ledger(account, refund.order_actor)
            ledger.kept_revenue -= sign * refund.amount

    # One rule per kind of contribution (FollowerEdge is absolute: ``apply`` sets it).
    _RULES = {Reply: _reply, Edge: _edge, Mutual: _mutual, Click: _click, Post: _post, Share: _share,
              Like: _like, Order: _order, Refund: _refund}

    def _reply_depth(self, account: str, old: Reply, new: Reply) -> None:
        _, figures = self._day(account, new.ts)
        if old.depth is not None:
            _count(figures.depths, old.depth, -1)
        if new.depth is not None:
            _count(figures.depths, new.depth, +1)

    def _follower_edge(self, account: str, edge: FollowerEdge) -> None:
        ledger = self._ledger(account, edge.follower)
        ledger.active, ledger.since, ledger.mutual, ledger.edge = edge.active, edge.since, edge.mutual, True

    # --- entries ----------------------------------------------------------------------------
    def _day(self, account: str, ts: int) -> tuple[int, Day]:
        """The Day of ``ts`` (created with the previous day's end-of-day counts), marked changed."""
        day = ts // DAY_MS
        marked = self._days.get((account, day))
        if marked is not None:  # changed already in this batch
            return day, marked
        figures = self.state.get(DAY, account, day)
        if figures is None:
            days = self.state.get(ACCOUNT, account) or AccountDays()
            at = bisect_left(days.days, day)
            figures = Day()
            if at:
                previous = self.state.get(DAY, account, days.days[at - 1])
                figures.followers, figures.mutuals = previous.followers, previous.mutuals
            days.days.insert(at, day)
            self.state.put(ACCOUNT, days, account)
        self.state.put(DAY, figures, account, day)
        self._days[(account, day)] = figures
        return day, figures

    def _shift(self, account: str, day: int, followers: int, mutuals: int) -> None:
        """Followers/mutuals at the end of ``day`` and of every later day change by these: noted
        here, applied once per account at the end of the batch (``_apply_shifts``)."""
        if followers or mutuals:
            pending = self._shifts.setdefault(account, {})
            f, m = pending.get(day, (0, 0))
            pending[day] = (f + followers, m + mutuals)

    def _apply_shifts(self) -> None:
        """One pass over each account's days from its earliest shifted day: O(those days).

        Every such day is sent again, even where the shifts of this batch cancel out: a batch
        replayed after a crash may be cut shorter or longer, and every row the first attempt sent
        must be sent again by the replays (see shared.domain.rows)."""
        for account, pending in self._shifts.items():
            days = self.state.get(ACCOUNT, account).days
            shifted = sorted(pending)
            followers = mutuals = 0
            at = 0
            for day in days[bisect_left(days, shifted[0]):]:
                while at < len(shifted) and shifted[at] <= day:
                    f, m = pending[shifted[at]]
                    followers, mutuals, at = followers + f, mutuals + m, at + 1
                figures = self.state.get(DAY, account, day)
                if followers or mutuals:
                    figures.followers += followers
                    figures.mutuals += mutuals
                    self.state.put(DAY, figures, account, day)
                self._days[(account, day)] = figures
        self._shifts.clear()

    def _ledger(self, account: str, other: str) -> Ledger:
        ledger = self._ledgers.get((account, other))
        if ledger is None:  # first change in this batch: read it and mark it written
            ledger = self._ledgers[(account, other)] = self.state.update(LEDGER, Ledger, account, other)
        return ledger

    def _interaction(self, account: str, other: str, ledger: Ledger, ts: int, kind: str, sign: int) -> int:
        """Record one more (or one less) interaction of ``kind``; return the change of "``other``
        did this on that day at all" (distinct repliers and clickers)."""
        day, within = divmod(ts, DAY_MS)
        held = self.state.update(INTERACTIONS, Interactions, account, other, day)
        had = getattr(held, kind)
        setattr(held, kind, had + sign)
        if held.inline is not None:
            _count(getattr(held.inline, kind), within, sign)
            if held.total() > SPILL_AT:
                self._spill(account, other, day, held)
        else:
            bucket, ms = divmod(within, BUCKET_MS)
            moments = self.state.update(MOMENTS, Moments, account, other, day, bucket)
            _count(getattr(moments, kind), ms, sign)
            if sign > 0:
                _add(held.buckets, bucket)
            elif not moments:
                held.buckets.remove(bucket)
        days = ledger.days
        if sign > 0:
            _add(days, day)
            if ledger.last_interaction is None or ts > ledger.last_interaction:
                ledger.last_interaction = ts
        else:
            if not held.total():
                days.remove(day)
            if ts == ledger.last_interaction:
                ledger.last_interaction = self._latest(account, other, days)
        return int(bool(had + sign)) - int(bool(had))

    def _spill(self, account: str, other: str, day: int, held: Interactions) -> None:
        """Move a day's inline times into bucket entries: the day has become busy."""
        for kind in ("replies", "clicks", "orders", "others"):
            for within, count in getattr(held.inline, kind).items():
                bucket, ms = divmod(within, BUCKET_MS)
                getattr(self.state.update(MOMENTS, Moments, account, other, day, bucket), kind)[ms] = count
                _add(held.buckets, bucket)
        held.inline = None

    def _latest(self, account: str, other: str, days: list[int]) -> int | None:
        """The time of the last interaction left: the latest one of the last day that has any."""
        if not days:
            return None
        day = days[-1]
        held = self.state.get(INTERACTIONS, account, other, day)
        if held.inline is not None:
            return day * DAY_MS + held.inline.latest()
        bucket = held.buckets[-1]
        return day * DAY_MS + bucket * BUCKET_MS + self.state.get(MOMENTS, account, other, day, bucket).latest()

    def _judge_again(self, account: str, other: str, ledger: Ledger, before: list, since_ts: int) -> None:
        """The edge other→account gained or lost the event at ``since_ts``: judge again whether
        the clicks and orders of ``other`` it affects came from a follower.

        The timelines before and after differ by that one event, so only times from ``since_ts``
        to the next later event of the edge are judged differently — and all alike."""
        after = ledger.timeline
        change = int(active_at(after, since_ts)) - int(active_at(before, since_ts))
        if not change:
            return
        later = bisect_right(after, (since_ts, "\U0010ffff", True))
        until = after[later][0] if later < len(after) else None
        days = ledger.days
        last = len(days) if until is None else bisect_right(days, day_of(until - 1))
        for day in days[bisect_left(days, day_of(since_ts)):last]:
            base = day * DAY_MS
            end = DAY_MS if until is None else min(until - base, DAY_MS)
            clicks, orders = self._between(account, other, day, max(since_ts - base, 0), end)
            if clicks or orders:
                _, figures = self._day(account, day * DAY_MS)
                figures.follower_clicks += change * clicks
                figures.follower_conversions += change * orders

    def _between(self, account: str, other: str, day: int, start: int, end: int) -> tuple[int, int]:
        """The clicks and orders of ``other`` on ``day`` at ms (within the day) start <= t < end."""
        held = self.state.get(INTERACTIONS, account, other, day)
        if held.inline is not None:
            return held.inline.between("clicks", start, end), held.inline.between("orders", start, end)
        clicks = orders = 0
        buckets = held.buckets
        for bucket in buckets[bisect_left(buckets, start // BUCKET_MS):bisect_left(buckets, -(-end // BUCKET_MS))]:
            moments, base = self.state.get(MOMENTS, account, other, day, bucket), bucket * BUCKET_MS
            clicks += moments.between("clicks", start - base, end - base)
            orders += moments.between("orders", start - base, end - base)
        return clicks, orders

    # --- rows -------------------------------------------------------------------------------
    @staticmethod
    def _day_row(account: str, day: int, figures: Day, version: int) -> AccountDayRow:
        # Positional, in AccountDayRow's field order: a row per changed day is the account rules'
        # most frequent output, and 22 keywords cost 1.6 µs a row against 0.2 (a test pins the
        # order: tests/domain/test_rows_carry_each_figure_in_its_column.py).
        depths = figures.depths
        return AccountDayRow(
            account, day, figures.qualifies, figures.followers, figures.gained, figures.lost, figures.mutuals,
            figures.net_followers, figures.replies, figures.repliers,
            max([d for d, n in depths.items() if n > 0], default=0) if depths else 0,
            figures.clicks, figures.clickers, figures.follower_clicks, figures.posts, figures.shares, figures.likes,
            figures.conversions, figures.follower_conversions, figures.revenue, figures.refunded, version)


def _follower_row(account: str, follower: str, ledger: Ledger, version: int) -> FollowerRow:
    # Positional, in FollowerRow's field order (see _day_row).
    return FollowerRow(account, follower, ledger.active, ledger.since, ledger.mutual, ledger.replies, ledger.clicks,
                       ledger.shares, ledger.likes, ledger.conversions, ledger.kept_revenue, ledger.last_interaction,
                       version)


def _count(counts: dict[int, int], key: int, sign: int) -> None:
    value = counts.get(key, 0) + sign
    if value:
        counts[key] = value
    else:
        counts.pop(key, None)


def _add(ascending: list[int], value: int) -> None:
    """Insert ``value`` into an ascending list of distinct values unless it is there."""
    if not ascending or ascending[-1] < value:
        ascending.append(value)
    else:
        at = bisect_left(ascending, value)
        if ascending[at] != value:
            ascending.insert(at, value)
