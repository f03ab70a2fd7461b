"""A late event inserted in the middle of an edge's history rewrites what the later events did."""
from shared.domain.edges import PairState
from shared.domain.edges import EdgeEventFact, EdgeStateFact
from tests.domain.builders import follow, unfollow


def test_late_unfollow_turns_a_repeated_follow_into_a_new_follow():
    state = PairState("x", "y")
    state.add(follow("f1", "x", "y", ts=1))
    assert state.add(follow("f3", "x", "y", ts=3)) == [
        EdgeEventFact("f3", "x", "y", 3, delta=0, active_at_ts=True, mutual_delta=0)]

    facts = state.add(unfollow("u2", "x", "y", ts=2))

    # f1 is unchanged and not re-emitted; since moves from the first follow to the refollow.
    assert facts == [
        EdgeEventFact("u2", "x", "y", 2, delta=-1, active_at_ts=False, mutual_delta=0),
        EdgeEventFact("f3", "x", "y", 3, delta=1, active_at_ts=True, mutual_delta=0),
        EdgeStateFact("x", "y", active=True, since=3),
    ]


def test_late_follow_before_an_unfollow_ends_the_mutual():
    state = PairState("x", "y")
    state.add(follow("f1", "y", "x", ts=1))
    state.add(unfollow("u5", "x", "y", ts=5))

    facts = state.add(follow("f2", "x", "y", ts=2))

    assert facts == [
        EdgeEventFact("f2", "x", "y", 2, delta=1, active_at_ts=True, mutual_delta=1),
        EdgeEventFact("u5", "x", "y", 5, delta=-1, active_at_ts=False, mutual_delta=-1),
    ]
