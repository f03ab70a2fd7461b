"""The follow graph of one unordered account pair {a, b} (contract §3, Follow graph).

Both directions live in one state so that mutual status (both edges active) is local. The edge
x→y is active at time t when the latest follow/unfollow of x→y with ts <= t, in (ts, id) order,
is a follow; a repeated follow on an active edge, or an unfollow of an inactive one, is no
transition. A pair sees few events, so every change recomputes its whole sequence and reports
only the facts whose values differ from before.
"""
from __future__ import annotations

from bisect import bisect_left, insort

import msgspec

from shared.domain.contributions import Edge, FollowerEdge, Mutual, Payload
from shared.domain.state import BatchState, EntryKind
from shared.events import Event


class EdgeEventFact(msgspec.Struct, gc=False, frozen=True, tag="edge_event", tag_field="kind"):
    """What one follow/unfollow event did to the edge follower→account and to the pair.

    Events of a pair are taken in (ts, id) order over both directions.
    """

    event_id: str
    follower: str
    account: str
    ts: int
    delta: int  # +1 inactive→active, -1 active→inactive, 0 no transition
    # Whether the edge is active after every event of this edge with this ts: the state "at ts"
    # in the contract's sense, safe for an ASOF join on ts even when events tie on ts.
    active_at_ts: bool
    mutual_delta: int  # +1/-1/0: change of "both directions active" caused by this event

    @property
    def key(self) -> tuple[str, ...]:
        return ("edge_event", self.event_id)


class EdgeStateFact(msgspec.Struct, gc=False, frozen=True, tag="edge_state", tag_field="kind"):
    """The current state of the edge follower→account, after every known event of it."""

    follower: str
    account: str
    active: bool
    since: int | None  # ts of the follow that activated the edge; None while inactive

    @property
    def key(self) -> tuple[str, ...]:
        return ("edge_state", self.follower, self.account)


PairFact = EdgeEventFact | EdgeStateFact


class _EdgeEvent(msgspec.Struct, array_like=True, gc=False, frozen=True, order=True):
    """One follow/unfollow of the pair; field order makes the natural order (ts, id)."""

    ts: int
    id: str
    follow: bool  # follow, else unfollow
    forward: bool  # low→high, else high→low


def _order(event: _EdgeEvent) -> tuple[int, str]:
    return event.ts, event.id


class _Snapshot(msgspec.Struct, array_like=True, gc=False):
    low: str
    high: str
    events: list[_EdgeEvent]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Snapshot)


class PairState:
    """The distinct follow/unfollow events between two accounts, in both directions."""

    def __init__(self, a: str, b: str) -> None:
        if a == b:
            raise ValueError(f"an account pair needs two accounts, got {a!r} twice")
        self.low, self.high = min(a, b), max(a, b)
        self._events: list[_EdgeEvent] = []  # sorted by (ts, id)

    def __len__(self) -> int:
        return len(self._events)

    def add(self, event: Event) -> list[PairFact]:
        """Take one event; return every new fact and every fact whose values changed.

        An event id already held changes nothing and returns no facts.
        """
        self._direction(event)
        if self.holds(event):
            return []
        before = self._facts(event.ts)
        self.insert(event)
        return [fact for key, fact in self._facts(event.ts).items() if before.get(key) != fact]

    def holds(self, event: Event) -> bool:
        """Whether this event (its id, at its ts) is held already."""
        at = bisect_left(self._events, (event.ts, event.id), key=_order)
        return at < len(self._events) and (self._events[at].ts, self._events[at].id) == (event.ts, event.id)

    def insert(self, event: Event) -> None:
        """Take one event not held yet (no facts computed)."""
        insort(self._events, _EdgeEvent(event.ts, event.id, event.type == "follow", self._direction(event)))

    def _direction(self, event: Event) -> bool:
        if event.type not in ("follow", "unfollow") or {event.actor, event.target} != {self.low, self.high}:
            raise ValueError(f"event {event.id!r} ({event.type}) is not a follow/unfollow between "
                             f"{self.low!r} and {self.high!r}")
        return event.actor == self.low

    def _facts(self, from_ts: int | None = None) -> dict[tuple[str, ...], PairFact]:
        """The facts of the current sequence, by fact key: every one, or (``from_ts``) the edge
        states and the facts of the events at or after that time — an event inserted at
        ``from_ts`` changes no fact of an earlier event."""
        ends = {True: (self.low, self.high), False: (self.high, self.low)}
        active = {True: False, False: False}
        since: dict[bool, int | None] = {}  # an entry for every direction that has events
        steps = []  # (event, delta, active after it, mutual delta), in (ts, id) order
        for e in self._events:
            was_active, was_mutual = active[e.forward], active[True] and active[False]
            active[e.forward] = e.follow
            if e.follow != was_active:
                since[e.forward] = e.ts if e.follow else None
            else:
                since.setdefault(e.forward, None)  # no transition; registers a first unfollow
            # bool - bool: +1 on a rise, -1 on a fall, 0 without transition
            steps.append((e, e.follow - was_active, e.follow, (active[True] and active[False]) - was_mutual))

        event_facts = []
        # Backwards, the first event met of a (direction, ts) group is its last one, whose outcome
        # is the edge's state at that ts.
        state_at_ts: dict[bool, tuple[int, bool]] = {}
        for e, delta, active_after, mutual_delta in reversed(steps):
            if from_ts is not None and e.ts < from_ts:
                break
            last = state_at_ts.get(e.forward)
            if last is None or last[0] != e.ts:
                state_at_ts[e.forward] = last = (e.ts, active_after)
            follower, account = ends[e.forward]
            event_facts.append(EdgeEventFact(e.id, follower, account, e.ts, delta, last[1], mutual_delta))
        state_facts = [EdgeStateFact(*ends[forward], active[forward], ts) for forward, ts in since.items()]
        return {fact.key: fact for fact in [*reversed(event_facts), *state_facts]}

    def current_facts(self, from_ts: int | None = None) -> dict[tuple[str, ...], PairFact]:
        return self._facts(from_ts)

    def snapshot(self) -> _Snapshot:
        return _Snapshot(self.low, self.high, self._events)

    @classmethod
    def from_snapshot(cls, snapshot: _Snapshot) -> PairState:
        state = cls(snapshot.low, snapshot.high)
        state._events = snapshot.events
        return state

    def to_bytes(self) -> bytes:
        return _encoder.encode(self.snapshot())

    @classmethod
    def from_bytes(cls, raw: bytes) -> PairState:
        return cls.from_snapshot(_decoder.decode(raw))


PAIR = EntryKind("p", _Snapshot)  # (low, high)


class Pairs:
    """The follow-graph rules over one batch's state: each pair's state is one small entry (a
    pair sees few events), and every change of a fact becomes a change of the accounts' figures.
    """

    def __init__(self, state: BatchState, out) -> None:  # out: conversation.Outputs
        self.state = state
        self.out = out

    def add(self, event: Event) -> None:
        low, high = sorted((event.actor, event.target))  # type: ignore[type-var]
        snapshot = self.state.get(PAIR, low, high)
        pair = PairState(low, high) if snapshot is None else PairState.from_snapshot(snapshot)
        if pair.holds(event):
            return  # already held: a duplicate delivery
        before = pair.current_facts(event.ts)
        pair.insert(event)
        after = pair.current_facts(event.ts)
        self.state.put(PAIR, pair.snapshot(), low, high)
        for key, fact in after.items():
            old = before.get(key)
            if old == fact:
                continue
            if isinstance(fact, EdgeEventFact):
                self._edge_event(old, fact)  # type: ignore[arg-type]
        for account, follower in ((low, high), (high, low)):
            old_edge, new_edge = _follower_edge(before, account, follower), _follower_edge(after, account, follower)
            if old_edge != new_edge:
                self.out.change(account, old_edge, new_edge)

    def _edge_event(self, old: EdgeEventFact | None, new: EdgeEventFact) -> None:
        self.out.change(new.account, _edge(old), _edge(new))
        old_mutual, new_mutual = _mutual(old), _mutual(new)
        if old_mutual != new_mutual:
            self.out.change(new.follower, old_mutual, new_mutual)


def _edge(fact: EdgeEventFact | None) -> Payload | None:
    if fact is None:
        return None
    return Edge(fact.follower, fact.event_id, fact.ts, fact.delta, fact.mutual_delta, fact.active_at_ts)


def _mutual(fact: EdgeEventFact | None) -> Payload | None:
    if fact is None or not fact.mutual_delta:
        return None
    return Mutual(fact.ts, fact.mutual_delta)


def _follower_edge(facts: dict[tuple[str, ...], PairFact], account: str, follower: str) -> Payload | None:
    """The ledger's view of follower→account: None until that direction has events."""
    state = facts.get(("edge_state", follower, account))
    if state is None:
        return None
    back = facts.get(("edge_state", account, follower))
    return FollowerEdge(follower, state.active, state.since, bool(back and back.active))  # type: ignore[union-attr]
