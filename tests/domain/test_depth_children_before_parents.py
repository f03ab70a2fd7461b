"""Replies arriving before their parents wait without a depth, then get it with their parent."""
from tests.domain.builders import ROOT, Thread, post, reply


def test_leaf_first_chain_resolves_when_the_top_reply_arrives():
    thread = Thread()
    assert thread.add(reply("e3", "c", parent_id="b")) == {"e3": None}
    assert thread.add(reply("e2", "b", parent_id="a")) == {"e2": None}

    assert thread.add(reply("e1", "a", parent_id=ROOT)) == {"e1": 1, "e2": 2, "e3": 3}


def test_direct_reply_has_depth_one_without_the_root_post():
    thread = Thread()
    assert thread.add(reply("e1", "a", parent_id=ROOT, ts=7, actor="robert")) == {"e1": 1}
    row = thread.row()
    assert (row.owner, row.replies, row.max_depth, row.participants, row.first_reply_at) == (None, 1, 1, 1, 7)


def test_only_the_resolved_subtree_changes():
    thread = Thread()
    thread.add(reply("e1", "a", parent_id=ROOT), reply("e2", "b", parent_id="a"))
    thread.add(reply("e4", "d", parent_id="c"), reply("e5", "e", parent_id="d"))

    assert thread.add(reply("e3", "c", parent_id="b")) == {"e3": 3, "e4": 4, "e5": 5}


def test_a_post_names_the_owner_and_changes_no_depth():
    thread = Thread()
    assert thread.add(post("p", actor="ameena"), reply("e1", "a", parent_id=ROOT)) == {"e1": 1}
    assert thread.row().owner == "ameena"
