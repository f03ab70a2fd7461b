"""A conversation's row is stored under its owner (on a cluster: on the owner's shard), so when
the owner changes, the row sent under the previous owner is withdrawn in the same batch."""
from tests.domain.builders import ROOT, Thread, post, reply


def batch_rows(thread: Thread, *events):
    before = len(thread.rows)
    thread.add(*events)
    return [(r.owner, r.deleted, r.version, r.replies) for r in thread.rows[before:]]


def test_the_root_post_arriving_after_replies_withdraws_the_row_without_an_owner():
    thread = Thread()
    assert batch_rows(thread, reply("e1", "a", ROOT, actor="robert"), reply("e2", "b", "a")) == [(None, False, 2, 2)]
    # Same version and figures: the withdrawal is as late as the row it withdraws.
    assert batch_rows(thread, post("p", actor="ameena")) == [(None, True, 3, 2), ("ameena", False, 3, 2)]
    assert batch_rows(thread, reply("e3", "c", "b")) == [("ameena", False, 4, 3)]


def test_an_earlier_post_withdraws_the_row_of_the_previous_owner():
    thread = Thread()
    thread.add(post("p2", actor="robert", ts=5), reply("e1", "a", ROOT, ts=6))
    assert batch_rows(thread, post("p1", actor="ameena", ts=1)) == [("robert", True, 3, 1), ("ameena", False, 3, 1)]
    assert batch_rows(thread, post("p3", actor="sharon", ts=9)) == [("ameena", False, 4, 1)]  # owner stays


def test_no_withdrawal_while_the_owner_stays_or_before_any_reply():
    thread = Thread()
    assert batch_rows(thread, post("p2", actor="robert", ts=5)) == []  # no reply: no row at all
    assert batch_rows(thread, post("p1", actor="ameena", ts=1)) == []
    assert batch_rows(thread, reply("e1", "a", ROOT), reply("e2", "b", "a")) == [("ameena", False, 4, 2)]
    assert batch_rows(thread, post("p1", actor="ameena", ts=1)) == []  # a duplicate
