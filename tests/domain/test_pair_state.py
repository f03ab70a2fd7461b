"""PairState bookkeeping: duplicates, foreign events, storage round trip."""
import pytest

from shared.domain.edges import PairState
from tests.domain.builders import click, follow, unfollow


def test_an_event_id_already_held_returns_no_facts():
    state = PairState("y", "x")
    event = follow("f1", "x", "y")
    assert state.add(event) != []
    assert state.add(event) == []
    assert len(state) == 1


@pytest.mark.parametrize("event", [follow("f", "x", "z"), click("c", "y", actor="x")])
def test_events_of_another_key_are_refused(event):
    with pytest.raises(ValueError):
        PairState("x", "y").add(event)


def test_a_pair_needs_two_accounts():
    with pytest.raises(ValueError):
        PairState("x", "x")


def test_state_survives_a_storage_round_trip():
    state = PairState("x", "y")
    state.add(follow("f1", "x", "y", ts=1))
    state.add(follow("f3", "y", "x", ts=3))

    restored = PairState.from_bytes(state.to_bytes())

    assert len(restored) == 2
    assert restored.add(follow("f1", "x", "y", ts=1)) == []
    assert [(f.key, f.mutual_delta) for f in restored.add(unfollow("u2", "x", "y", ts=2))
            if f.key[0] == "edge_event"] == [(("edge_event", "u2"), 0), (("edge_event", "f3"), 0)]
