"""A reply claiming the root's own post_id is nonsense: it never gets a depth."""
from shared.domain.conversation import ConversationState
from tests.domain.builders import ROOT, reply


def test_reply_with_the_root_post_id_has_no_depth_and_is_no_parent():
    state = ConversationState(ROOT)
    state.add(reply("e1", "a", parent_id=ROOT))
    assert [f.depth for f in state.add(reply("e2", ROOT, parent_id="a"))] == [None]
    # Replies to the root still hang below the real root.
    assert [f.depth for f in state.add(reply("e3", "b", parent_id=ROOT))] == [1]
