"""Depth facts depend only on the set of distinct events, and match the reference oracle."""
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.conversation import ConversationState
from shared.domain.facts import ReplyFact
from tests.domain.builders import ROOT, post, reply, unversioned
from tests.reference import reply_depths

# Few post ids and timestamps, so that duplicates, ties, cycles and missing parents are common.
POST_IDS = [ROOT, "a", "b", "c", "d", "e"]


@st.composite
def conversation_events(draw):
    events = []
    for i in range(draw(st.integers(0, 14))):
        ts = draw(st.integers(0, 4))
        if draw(st.integers(0, 4)) == 0:
            events.append(post(f"e{i}", ts=ts))
        else:
            events.append(reply(f"e{i}", draw(st.sampled_from(POST_IDS)), draw(st.sampled_from(POST_IDS)), ts=ts,
                                actor=draw(st.sampled_from(["owner", "u1", "u2"]))))
    return events


@st.composite
def deliveries(draw):
    """An event set, and one delivery of it: any order, some events more than once."""
    events = draw(conversation_events())
    repeats = draw(st.lists(st.sampled_from(events), max_size=5)) if events else []
    return events, draw(st.permutations(events + repeats))


def feed(delivery):
    """Deliver events one by one through storage, checking what every delivery returns."""
    state, facts, seen, last_version = ConversationState(ROOT), [], set(), {}
    for event in delivery:
        emitted = state.add(event)
        state = ConversationState.from_bytes(state.to_bytes())
        if event.id in seen:
            assert emitted == []
        seen.add(event.id)
        assert state.version == len(seen)
        for fact in emitted:
            assert fact.version == state.version
            assert fact.version > last_version.get(fact.key, 0)
            last_version[fact.key] = fact.version
        facts += emitted
    return facts


def expected(events):
    replies = [e for e in events if e.type == "reply"]
    return {("reply", r.id): ReplyFact(r.id, ROOT, r.post_id, r.actor, r.ts, depth, 0)
            for r, depth in reply_depths(ROOT, replies)}


@settings(max_examples=400)
@given(deliveries())
def test_any_delivery_gives_the_facts_of_the_sorted_set(case):
    events, delivery = case
    in_order = unversioned(feed(sorted(events, key=lambda e: (e.ts, e.id))))
    assert unversioned(feed(delivery)) == in_order
    assert in_order == expected(events)
