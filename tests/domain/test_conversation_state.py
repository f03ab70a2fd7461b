"""Conversation bookkeeping: duplicates, participants and owner replies, the owner arriving late."""
from tests.domain.builders import ROOT, Thread, post, reply


def test_an_event_id_already_held_changes_nothing():
    thread = Thread()
    event = reply("e1", "a", parent_id=ROOT)
    thread.add(event, post("p"))
    rows = len(thread.rows)
    assert thread.add(event) == {}
    assert thread.add(post("p")) == {}
    assert len(thread.rows) == rows  # nothing changed: no new row
    assert thread.row().replies == 1


def test_participants_and_owner_replies_follow_the_owner_who_arrives_late():
    thread = Thread()
    thread.add(reply("e1", "a", ROOT, actor="robert"), reply("e2", "b", "a", actor="ameena"),
               reply("e3", "c", "b", actor="robert"))
    row = thread.row()
    assert (row.owner, row.participants, row.owner_replies) == (None, 2, 0)

    thread.add(post("p", actor="ameena"))

    row = thread.row()
    assert (row.owner, row.participants, row.owner_replies, row.replies) == ("ameena", 1, 1, 3)


def test_the_owner_receives_the_replies_of_others_once_known():
    thread = Thread()
    thread.add(reply("e1", "a", ROOT, actor="robert", ts=5), reply("e2", "b", "a", actor="ameena", ts=6))
    assert thread.changes == []
    thread.add(post("p", actor="ameena", ts=1))
    received = [(s.account, c.new.actor, c.new.depth) for s in thread.changes for c in s.changes
                if type(c.new).__name__ == "Reply"]
    assert received == [("ameena", "robert", 1)]


def test_an_earlier_post_moves_the_conversation_to_its_author():
    thread = Thread()
    thread.add(post("p2", actor="robert", ts=5), reply("e1", "a", ROOT, actor="sharon", ts=6))
    thread.add(post("p1", actor="ameena", ts=1))
    moves = [(s.account, c.old is not None, c.new is not None) for s in thread.changes for c in s.changes
             if type(c.new or c.old).__name__ == "Reply"]
    assert sorted(moves) == [("ameena", False, True), ("robert", False, True), ("robert", True, False)]
    assert thread.row().owner == "ameena"
