"""Depths and thread figures depend only on the set of distinct events, whatever the delivery
order and batching, and match the reference."""
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.builders import ROOT, Thread, post, reply
from tests.reference import distinct_in_order, reply_depths

# Few post ids and timestamps, so that duplicates, ties, cycles and missing parents are common.
POST_IDS = [ROOT, "a", "b", "c", "d", "e"]
ACTORS = ["owner", "u1", "u2", "u3"]


@st.composite
def conversation_events(draw):
    events = []
    for i in range(draw(st.integers(0, 16))):
        ts = draw(st.integers(0, 4))
        if draw(st.integers(0, 5)) == 0:
            events.append(post(f"e{i}", ts=ts, actor=draw(st.sampled_from(ACTORS))))
        else:
            events.append(reply(f"e{i}", draw(st.sampled_from(POST_IDS)), draw(st.sampled_from(POST_IDS)), ts=ts,
                                actor=draw(st.sampled_from(ACTORS))))
    return [e for e in events if e.type == "post" or e.post_id != e.parent_id]


@st.composite
def deliveries(draw):
    """An event set and one delivery of it (any order, some events more than once, cut into batches)."""
    events = draw(conversation_events())
    repeats = draw(st.lists(st.sampled_from(events), max_size=5)) if events else []
    delivery = draw(st.permutations(events + repeats))
    cuts = sorted(draw(st.lists(st.integers(0, len(delivery)), max_size=4)))
    batches = [delivery[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivery)])]
    return events, batches


def expected_row(events):
    ordered = distinct_in_order(events)
    replies = [e for e in ordered if e.type == "reply"]
    owner = next((e.actor for e in ordered if e.type == "post"), None)
    depths = [d for _, d in reply_depths(ROOT, replies) if d is not None]
    h_index = max((h for h in range(1, len(replies) + 1) if depths.count(h) >= h), default=0)
    return {"owner": owner, "replies": len(replies), "max_depth": max(depths, default=0), "h_index": h_index,
            "participants": len({r.actor for r in replies if r.actor != owner}),
            "owner_replies": sum(r.actor == owner for r in replies),
            "first_reply_at": min(r.ts for r in replies), "last_reply_at": max(r.ts for r in replies)}


@settings(max_examples=500, deadline=None)
@given(deliveries())
def test_any_delivery_gives_the_depths_and_figures_of_the_set(case):
    events, batches = case
    thread = Thread()
    for batch in batches:
        thread.add(*batch)
    replies = [e for e in distinct_in_order(events) if e.type == "reply"]
    assert thread.depths() == {r.id: d for r, d in reply_depths(ROOT, replies)}

    if replies:
        row = thread.row()
        assert {name: getattr(row, name) for name in expected_row(events)} == expected_row(events)
