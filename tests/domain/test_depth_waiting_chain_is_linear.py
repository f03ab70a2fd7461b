"""A reply costs a bounded number of state entries, however large the conversation, plus one
per reply whose depth it changes (a late parent gives depths to the replies waiting for it)."""
from tests.domain.builders import ROOT, Thread, reply


def test_a_reply_to_a_big_conversation_writes_a_few_entries():
    thread = Thread()
    thread.add(*[reply(f"e{i}", f"p{i}", ROOT if i < 50 else f"p{i % 50}", actor=f"u{i % 300}") for i in range(5000)])
    thread.add(reply("late", "late", "p7", actor="newcomer"))
    assert thread.written <= 6


def test_a_waiting_reply_costs_the_same_however_much_waits_below_it():
    n = 3000
    thread = Thread()
    for i in reversed(range(1, n)):
        assert thread.add(reply(f"e{i}", f"p{i}", f"p{i - 1}")) == {f"e{i}": None}
        assert thread.written <= 6
    resolved = thread.add(reply("e0", "p0", ROOT))
    assert sorted(resolved.values()) == list(range(1, n + 1))
    assert thread.row().max_depth == n
