"""Facts travel as JSON tagged with their kind."""
import json

import pytest

from shared.domain.facts import EdgeEventFact, EdgeStateFact, ReplyFact, decode_fact, encode_fact

FACTS = [
    ReplyFact("e1", "p1", "r1", "robert", 1, None, 3),
    EdgeEventFact("e2", "x", "y", 2, 1, True, -1, 4),
    EdgeStateFact("x", "y", False, None, 5),
]


@pytest.mark.parametrize("fact", FACTS)
def test_fact_round_trips_through_json(fact):
    raw = encode_fact(fact)
    assert json.loads(raw)["kind"] == type(fact).__struct_config__.tag
    assert decode_fact(raw) == fact


def test_keys_name_the_row_a_fact_replaces():
    assert [f.key for f in FACTS] == [("reply", "e1"), ("edge_event", "e2"), ("edge_state", "x", "y")]
