"""A cycle never gets a depth, nor does anything hanging below it."""
from tests.domain.builders import ROOT, Thread, reply


def final_depths(*events):
    thread = Thread()
    for event in events:
        thread.add(event)
    return thread.depths()


def test_two_replies_answering_each_other():
    assert final_depths(reply("e1", "a", parent_id="b"), reply("e2", "b", parent_id="a"),
                        reply("e3", "c", parent_id="a")) == {"e1": None, "e2": None, "e3": None}


def test_reply_answering_itself():
    assert final_depths(reply("e1", "a", parent_id="a"), reply("e2", "b", parent_id="a")) == {"e1": None, "e2": None}


def test_cycle_does_not_disturb_the_rest_of_the_conversation():
    assert final_depths(reply("e1", "a", parent_id="b"), reply("e2", "b", parent_id="a"),
                        reply("e3", "c", parent_id=ROOT), reply("e4", "d", parent_id="c")) == \
        {"e1": None, "e2": None, "e3": 1, "e4": 2}
