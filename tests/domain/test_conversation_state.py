"""ConversationState bookkeeping: duplicates, foreign events, storage round trip."""
import pytest

from shared.domain.conversation import ConversationState
from tests.domain.builders import ROOT, follow, post, reply


def test_an_event_id_already_held_returns_no_facts():
    state = ConversationState(ROOT)
    event = reply("e1", "a", parent_id=ROOT)
    assert state.add(event) != []
    assert state.add(event) == []
    assert state.add(post("p")) == []
    assert state.add(post("p")) == []
    assert state.version == 2


@pytest.mark.parametrize("event", [
    reply("e1", "a", parent_id="x", root_id="other"),
    post("p", post_id="other"),
    follow("f", "x", "y"),
])
def test_events_of_another_key_are_refused(event):
    with pytest.raises(ValueError):
        ConversationState(ROOT).add(event)


def test_state_survives_a_storage_round_trip():
    state = ConversationState(ROOT)
    state.add(post("p"))
    state.add(reply("e2", "a", parent_id="missing", ts=2))
    state.add(reply("e3", "c", parent_id="a", ts=3))

    restored = ConversationState.from_bytes(state.to_bytes())

    assert restored.version == 3
    assert restored.add(reply("e3", "c", parent_id="a", ts=3)) == []
    facts = restored.add(reply("e1", "a", parent_id=ROOT, ts=1))
    assert {f.event_id: f.depth for f in facts} == {"e1": 1, "e3": 2}
    assert restored.to_bytes() == ConversationState.from_bytes(restored.to_bytes()).to_bytes()
