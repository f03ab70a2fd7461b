"""The follow graph of one unordered account pair {a, b} (contract §3, Follow graph).

Both directions live in one state so that mutual status (both edges active) is local. The edge
x→y is active at time t when the latest follow/unfollow of x→y with ts <= t, in (ts, id) order,
is a follow; a repeated follow on an active edge, or an unfollow of an inactive one, is no
transition. A pair sees few events, so every change recomputes its whole sequence and reports
only the facts whose values differ from before.
"""
from __future__ import annotations

from bisect import insort

import msgspec

from shared.domain.facts import EdgeEventFact, EdgeStateFact
from shared.events import Event

PairFact = EdgeEventFact | EdgeStateFact


class _EdgeEvent(msgspec.Struct, array_like=True, frozen=True, order=True):
    """One follow/unfollow of the pair; field order makes the natural order (ts, id)."""

    ts: int
    id: str
    follow: bool  # follow, else unfollow
    forward: bool  # low→high, else high→low


class _Snapshot(msgspec.Struct, array_like=True):
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
        self._ids: set[str] = set()

    @property
    def version(self) -> int:
        return len(self._events)

    def add(self, event: Event) -> list[PairFact]:
        """Take one event; return every new fact and every fact whose values changed.

        An event id already held changes nothing and returns no facts.
        """
        forward = self._direction(event)
        if event.id in self._ids:
            return []
        version = self.version + 1
        before = self._facts(version)
        insort(self._events, _EdgeEvent(event.ts, event.id, event.type == "follow", forward))
        self._ids.add(event.id)
        return [fact for key, fact in self._facts(version).items() if before.get(key) != fact]

    def _direction(self, event: Event) -> bool:
        if event.type not in ("follow", "unfollow") or {event.actor, event.target} != {self.low, self.high}:
            raise ValueError(f"event {event.id!r} ({event.type}) is not a follow/unfollow between "
                             f"{self.low!r} and {self.high!r}")
        return event.actor == self.low

    def _facts(self, version: int) -> dict[tuple[str, ...], PairFact]:
        """Every fact of the current sequence, stamped with ``version``, by fact key."""
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
            last = state_at_ts.get(e.forward)
            if last is None or last[0] != e.ts:
                state_at_ts[e.forward] = last = (e.ts, active_after)
            follower, account = ends[e.forward]
            event_facts.append(EdgeEventFact(e.id, follower, account, e.ts, delta, last[1], mutual_delta, version))
        state_facts = [EdgeStateFact(*ends[forward], active[forward], ts, version) for forward, ts in since.items()]
        return {fact.key: fact for fact in [*reversed(event_facts), *state_facts]}

    def to_bytes(self) -> bytes:
        return _encoder.encode(_Snapshot(self.low, self.high, self._events))

    @classmethod
    def from_bytes(cls, raw: bytes) -> PairState:
        snapshot = _decoder.decode(raw)
        state = cls(snapshot.low, snapshot.high)
        state._events = snapshot.events
        state._ids = {e.id for e in snapshot.events}
        return state
