"""A repeated follow is no transition; an unfollow of an edge never followed is none either."""
from shared.domain.edges import PairState
from shared.domain.edges import EdgeEventFact, EdgeStateFact
from tests.domain.builders import follow, unfollow


def test_repeated_follow_keeps_since_at_the_first_follow():
    state = PairState("x", "y")
    assert state.add(follow("f1", "x", "y", ts=1)) == [
        EdgeEventFact("f1", "x", "y", 1, delta=1, active_at_ts=True, mutual_delta=0),
        EdgeStateFact("x", "y", active=True, since=1),
    ]
    # The edge's state did not change, so no state fact.
    assert state.add(follow("f2", "x", "y", ts=2)) == [
        EdgeEventFact("f2", "x", "y", 2, delta=0, active_at_ts=True, mutual_delta=0)]


def test_unfollow_of_an_edge_never_followed_reports_an_inactive_edge():
    state = PairState("x", "y")
    assert state.add(unfollow("u1", "y", "x", ts=1)) == [
        EdgeEventFact("u1", "y", "x", 1, delta=0, active_at_ts=False, mutual_delta=0),
        EdgeStateFact("y", "x", active=False, since=None),
    ]


def test_other_direction_does_not_re_emit_an_unchanged_state():
    state = PairState("x", "y")
    state.add(follow("f1", "x", "y", ts=1))
    assert state.add(follow("f2", "y", "x", ts=2)) == [
        EdgeEventFact("f2", "y", "x", 2, delta=1, active_at_ts=True, mutual_delta=1),
        EdgeStateFact("y", "x", active=True, since=2),
    ]
