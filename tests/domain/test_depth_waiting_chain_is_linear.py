"""Regression: a reply that arrives without a depth must not walk everything waiting below it.

A long chain delivered leaf first once took two minutes for 20,000 replies (each arrival
re-walked the whole waiting chain); it takes a tenth of a second when each stays O(1).
"""
import time

from shared.domain.conversation import ConversationState
from tests.domain.builders import ROOT, reply


def test_chain_delivered_leaf_first_resolves_in_linear_time():
    n = 20_000
    state = ConversationState(ROOT)
    started = time.perf_counter()
    for i in reversed(range(1, n)):
        assert [f.depth for f in state.add(reply(f"e{i}", f"p{i}", f"p{i - 1}"))] == [None]
    facts = state.add(reply("e0", "p0", ROOT))
    assert time.perf_counter() - started < 5
    assert sorted(f.depth for f in facts) == list(range(1, n + 1))
