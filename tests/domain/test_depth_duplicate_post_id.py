"""Several replies with the same post_id: the first in (ts, id) order is the parent node."""
from tests.domain.builders import ROOT, Thread, reply


def test_children_hang_below_the_earliest_duplicate():
    thread = Thread()
    thread.add(reply("e1", "a", parent_id=ROOT, ts=1))
    # The later duplicate answers an unknown reply: it has no depth, but it is not the node.
    assert thread.add(reply("e2", "a", parent_id="missing", ts=2)) == {"e2": None}
    assert thread.add(reply("e3", "c", parent_id="a", ts=3)) == {"e3": 2}


def test_earlier_duplicate_arriving_late_takes_the_node_over():
    thread = Thread()
    thread.add(reply("e1", "x", parent_id=ROOT, ts=1))
    thread.add(reply("e5", "a", parent_id=ROOT, ts=5))
    thread.add(reply("e6", "c", parent_id="a", ts=6))

    # e5 keeps its own depth (from its own parent) and does not change.
    assert thread.add(reply("e2", "a", parent_id="x", ts=2)) == {"e2": 2, "e6": 3}


def test_takeover_that_closes_a_cycle_removes_the_depths_below():
    thread = Thread()
    thread.add(reply("e5", "a", parent_id=ROOT, ts=5))
    thread.add(reply("e6", "q", parent_id="a", ts=6))

    # The new node "a" answers "q", which answers "a": a cycle.
    assert thread.add(reply("e1", "a", parent_id="q", ts=1)) == {"e1": None, "e6": None}
    assert (thread.row().max_depth, thread.row().h_index) == (1, 1)


def test_takeover_with_the_same_depth_touches_nothing_below():
    thread = Thread()
    thread.add(reply("e5", "a", parent_id=ROOT, ts=5))
    thread.add(*[reply(f"c{i}", f"c{i}", parent_id="a", ts=6) for i in range(100)])

    assert thread.add(reply("e1", "a", parent_id=ROOT, ts=1)) == {"e1": 1}
    assert thread.written < 10


def test_tie_on_ts_is_broken_by_event_id():
    thread = Thread()
    thread.add(reply("e2", "a", parent_id="missing", ts=1))
    thread.add(reply("e3", "c", parent_id="a", ts=2))
    assert thread.add(reply("e1", "a", parent_id=ROOT, ts=1)) == {"e1": 1, "e3": 2}
