"""Edge facts depend only on the set of distinct events, and match the contract's definitions."""
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.edges import PairState
from shared.domain.edges import EdgeEventFact, EdgeStateFact
from tests.domain.builders import by_key, follow, unfollow

DIRECTIONS = [("x", "y"), ("y", "x")]


@st.composite
def deliveries(draw):
    """A pair's event set, and one delivery of it: any order, some events more than once."""
    events = [draw(st.sampled_from([follow, unfollow]))(f"e{i}", *draw(st.sampled_from(DIRECTIONS)),
                                                         ts=draw(st.integers(0, 3)))
              for i in range(draw(st.integers(0, 12)))]
    repeats = draw(st.lists(st.sampled_from(events), max_size=5)) if events else []
    return events, draw(st.permutations(events + repeats))


def feed(delivery):
    """Deliver events one by one through storage, checking what every delivery returns."""
    state, facts, seen = PairState("x", "y"), [], set()
    for event in delivery:
        emitted = state.add(event)
        state = PairState.from_bytes(state.to_bytes())
        if event.id in seen:
            assert emitted == []
        seen.add(event.id)
        assert len(state) == len(seen)
        facts += emitted
    return facts


def expected(events):
    """Every fact straight from the definitions, one event at a time."""
    ordered = sorted(events, key=lambda e: (e.ts, e.id))

    def active(follower, account, counts):
        history = [e for e in ordered if (e.actor, e.target) == (follower, account) and counts(e)]
        return bool(history) and history[-1].type == "follow"

    def mutual(counts):
        return active("x", "y", counts) and active("y", "x", counts)

    facts = {}
    for e in ordered:
        def before(other, e=e):
            return (other.ts, other.id) < (e.ts, e.id)

        def through(other, e=e):
            return (other.ts, other.id) <= (e.ts, e.id)

        f, a = e.actor, e.target
        facts[("edge_event", e.id)] = EdgeEventFact(
            e.id, f, a, e.ts, delta=int(active(f, a, through)) - int(active(f, a, before)),
            active_at_ts=active(f, a, lambda other, e=e: other.ts <= e.ts),
            mutual_delta=int(mutual(through)) - int(mutual(before)))
    for f, a in DIRECTIONS:
        rises = [fact.ts for fact in facts.values() if (fact.follower, fact.account) == (f, a) and fact.delta == 1]
        if any((e.actor, e.target) == (f, a) for e in events):
            is_active = active(f, a, lambda other: True)
            facts[("edge_state", f, a)] = EdgeStateFact(f, a, is_active, rises[-1] if is_active else None)
    return facts


@settings(max_examples=400)
@given(deliveries())
def test_any_delivery_gives_the_facts_of_the_sorted_set(case):
    events, delivery = case
    in_order = by_key(feed(sorted(events, key=lambda e: (e.ts, e.id))))
    assert by_key(feed(delivery)) == in_order
    assert in_order == expected(events)
