"""A reply claiming the root's own post_id is nonsense: it never gets a depth."""
from tests.domain.builders import ROOT, Thread, reply


def test_reply_with_the_root_post_id_has_no_depth_and_is_no_parent():
    thread = Thread()
    thread.add(reply("e1", "a", parent_id=ROOT))
    assert thread.add(reply("e2", ROOT, parent_id="a")) == {"e2": None}
    # Replies to the root still hang below the real root.
    assert thread.add(reply("e3", "b", parent_id=ROOT)) == {"e3": 1}
    assert thread.row().replies == 3
