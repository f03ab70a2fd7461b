"""Events with the same ts: (ts, id) orders them, and active_at_ts is the state after all of them."""
from shared.domain.edges import PairState
from shared.domain.edges import EdgeEventFact
from tests.domain.builders import follow, unfollow


def event_facts(*events):
    state, kept = PairState("x", "y"), {}
    for event in events:
        kept.update((f.key, f) for f in state.add(event) if isinstance(f, EdgeEventFact))
    return {f.event_id: (f.delta, f.active_at_ts, f.mutual_delta) for f in kept.values()}


def test_follow_then_unfollow_at_the_same_ts_is_inactive_at_that_ts():
    assert event_facts(follow("a", "x", "y", ts=5), unfollow("b", "x", "y", ts=5)) == {
        "a": (1, False, 0), "b": (-1, False, 0)}


def test_unfollow_then_follow_at_the_same_ts_is_active_at_that_ts():
    assert event_facts(follow("b", "x", "y", ts=5), unfollow("a", "x", "y", ts=5)) == {
        "a": (0, True, 0), "b": (1, True, 0)}


def test_simultaneous_follow_back_is_mutual_at_the_second_by_id():
    assert event_facts(follow("b", "y", "x", ts=5), follow("a", "x", "y", ts=5)) == {
        "a": (1, True, 0), "b": (1, True, 1)}


def test_ties_of_the_other_direction_do_not_affect_active_at_ts():
    assert event_facts(follow("a", "x", "y", ts=5), unfollow("b", "y", "x", ts=5), follow("c", "x", "y", ts=5)) == {
        "a": (1, True, 0), "b": (0, False, 0), "c": (0, True, 0)}
