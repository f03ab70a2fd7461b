"""Several replies with the same post_id: the first in (ts, id) order is the parent node."""
from shared.domain.conversation import ConversationState
from tests.domain.builders import ROOT, reply


def depths(facts):
    return {f.event_id: f.depth for f in facts}


def test_children_hang_below_the_earliest_duplicate():
    state = ConversationState(ROOT)
    state.add(reply("e1", "a", parent_id=ROOT, ts=1))
    # The later duplicate answers an unknown reply: it has no depth, but it is not the node.
    assert depths(state.add(reply("e2", "a", parent_id="missing", ts=2))) == {"e2": None}
    assert depths(state.add(reply("e3", "c", parent_id="a", ts=3))) == {"e3": 2}


def test_earlier_duplicate_arriving_late_takes_the_node_over():
    state = ConversationState(ROOT)
    state.add(reply("e1", "x", parent_id=ROOT, ts=1))
    state.add(reply("e5", "a", parent_id=ROOT, ts=5))
    state.add(reply("e6", "c", parent_id="a", ts=6))

    facts = state.add(reply("e2", "a", parent_id="x", ts=2))

    # e5 keeps its own depth (from its own parent) and is not re-emitted.
    assert depths(facts) == {"e2": 2, "e6": 3}
    assert {f.version for f in facts} == {4}


def test_takeover_that_closes_a_cycle_removes_the_depths_below():
    state = ConversationState(ROOT)
    state.add(reply("e5", "a", parent_id=ROOT, ts=5))
    state.add(reply("e6", "q", parent_id="a", ts=6))

    # The new node "a" answers "q", which answers "a": a cycle.
    facts = state.add(reply("e1", "a", parent_id="q", ts=1))

    assert depths(facts) == {"e1": None, "e6": None}


def test_tie_on_ts_is_broken_by_event_id():
    state = ConversationState(ROOT)
    state.add(reply("e2", "a", parent_id="missing", ts=1))
    state.add(reply("e3", "c", parent_id="a", ts=2))
    assert depths(state.add(reply("e1", "a", parent_id=ROOT, ts=1))) == {"e1": 1, "e3": 2}
