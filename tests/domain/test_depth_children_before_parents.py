"""Replies arriving before their parents wait without a depth, then get it with their parent."""
from shared.domain.conversation import ConversationState
from tests.domain.builders import ROOT, post, reply


def depths(facts):
    return {f.event_id: f.depth for f in facts}


def test_leaf_first_chain_resolves_when_the_top_reply_arrives():
    state = ConversationState(ROOT)
    assert depths(state.add(reply("e3", "c", parent_id="b"))) == {"e3": None}
    assert depths(state.add(reply("e2", "b", parent_id="a"))) == {"e2": None}

    facts = state.add(reply("e1", "a", parent_id=ROOT))

    assert depths(facts) == {"e1": 1, "e2": 2, "e3": 3}
    assert {f.version for f in facts} == {3}


def test_direct_reply_has_depth_one_without_the_root_post():
    state = ConversationState(ROOT)
    [fact] = state.add(reply("e1", "a", parent_id=ROOT, ts=7, actor="robert"))
    assert (fact.event_id, fact.root_id, fact.post_id, fact.actor, fact.ts, fact.depth, fact.version) == \
        ("e1", ROOT, "a", "robert", 7, 1, 1)


def test_only_the_resolved_subtree_is_re_emitted():
    state = ConversationState(ROOT)
    state.add(reply("e1", "a", parent_id=ROOT))
    state.add(reply("e2", "b", parent_id="a"))
    state.add(reply("e4", "d", parent_id="c"))
    state.add(reply("e5", "e", parent_id="d"))

    facts = state.add(reply("e3", "c", parent_id="b"))

    assert depths(facts) == {"e3": 3, "e4": 4, "e5": 5}


def test_posts_count_toward_the_version_but_emit_nothing():
    state = ConversationState(ROOT)
    assert state.add(post("p", actor="ameena")) == []
    [fact] = state.add(reply("e1", "a", parent_id=ROOT))
    assert fact.version == 2
