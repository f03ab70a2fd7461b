"""The reference views' v1.1 figures (contract §6) on hand-computed cases: shares and likes once
per (actor, post) and never for oneself, orders deduplicated by order_id, refunds capped by what
remains of the order (also when they arrive before it), money exact, and the thread h-index."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from shared.events import ts_to_ms
from tests.domain.builders import conversion, follow, like, post, refund, reply, share
from tests.reference import DAY_MS, compute_views

T = ts_to_ms(datetime.fromisoformat("2026-11-01T10:00:00+00:00"))
DAY1, DAY2, DAY3, DAY4 = (date(2026, 11, d) for d in (1, 2, 3, 4))
V11_DAILY = ("posts", "shares_received", "likes_received", "conversions", "follower_conversions", "revenue",
             "refunded", "kept_revenue", "value_per_follower")
V11_LEDGER = ("shares", "likes", "conversions", "kept_revenue", "last_interaction_at")


def daily(views, account, day, columns=V11_DAILY):
    [row] = [r for r in views["account_daily"] if (r["account"], r["day"]) == (account, day)]
    return {c: row[c] for c in columns}


def days_of(views, account):
    return [r["day"] for r in views["account_daily"] if r["account"] == account]


def ledger(views, account, follower, columns=V11_LEDGER):
    [row] = [r for r in views["followers"] if (r["account"], r["follower"]) == (account, follower)]
    return {c: row[c] for c in columns}


def thread(views, root_id):
    [row] = [r for r in views["threads"] if r["root_id"] == root_id]
    return row


def test_shares_and_likes_count_once_per_actor_and_post_and_never_for_oneself():
    views = compute_views([
        follow("f1", "x", "b", T - 1000),
        post("p", T, actor="b", post_id="p1"),
        like("l1", "x", "b", "p1", T + 1),
        like("l2", "x", "b", "p1", T + 2),  # a repeat: nothing
        like("l3", "x", "b", "p1", T + DAY_MS),  # a repeat the next day: nothing, and no row that day
        like("l4", "y", "b", "p1", T + 3),
        like("l5", "b", "b", "p1", T + 4),  # self-like: nowhere
        share("s1", "x", "b", "p1", T + 5),  # a share is not a like: counts too
        share("s2", "b", "b", "p1", T + 6),  # self-share: nowhere
        share("s3", "z", "z", "p1", T + 7),  # z's first share of p1 names z itself: nowhere ...
        share("s4", "z", "b", "p1", T + 8),  # ... and z's later share of p1 is a repeat: nothing
        reply("r1", "r1", parent_id="p1", ts=T + 9, actor="y", root_id="p1"),
        like("l6", "x", "y", "r1", T + 10),  # a like of y's reply: y's, not the thread's
    ])
    assert daily(views, "b", DAY1) == {"posts": 1, "shares_received": 1, "likes_received": 2, "conversions": 0,
                                       "follower_conversions": 0, "revenue": 0, "refunded": 0, "kept_revenue": 0,
                                       "value_per_follower": 0.0}
    assert days_of(views, "b") == [DAY1]
    assert days_of(views, "z") == []
    assert days_of(views, "y") == [DAY1]  # a counted like received is enough for a row
    assert daily(views, "y", DAY1) == {"posts": 0, "shares_received": 0, "likes_received": 1, "conversions": 0,
                                       "follower_conversions": 0, "revenue": 0, "refunded": 0, "kept_revenue": 0,
                                       "value_per_follower": None}
    p1 = thread(views, "p1")
    assert (p1["shares"], p1["likes"], p1["replies"], p1["h_index"]) == (1, 2, 1, 1)
    # The ledger counts the follower's counted shares and likes; a repeat is no interaction.
    assert ledger(views, "b", "x") == {"shares": 1, "likes": 1, "conversions": 0, "kept_revenue": 0,
                                       "last_interaction_at": T + 5}


def test_shares_and_likes_of_a_root_without_replies_make_no_thread():
    views = compute_views([post("p", T, actor="b", post_id="p1"), share("s1", "x", "b", "p1", T + 1)])
    assert views["threads"] == []
    assert daily(views, "b", DAY1, ("posts", "shares_received")) == {"posts": 1, "shares_received": 1}


def test_the_first_conversion_of_an_order_id_is_the_order():
    views = compute_views([
        follow("f1", "x", "b", T),
        conversion("c1", "o1", "b", "100", T + 1, actor="x"),  # follower at the order's ts
        conversion("c2", "o1", "c", "999", T + 2, actor="y"),  # same order_id again: nothing anywhere
        conversion("b-dup", "o2", "b", "7", T + 3, actor="y"),
        conversion("a-dup", "o2", "b", "5", T + 3, actor="y"),  # tie on ts: the smaller id is first
        conversion("c3", "o3", "b", "0.1", T - 1, actor="x"),  # before x followed: no follower conversion
        conversion("c4", "o4", "b", "0.2", T + 4),  # anonymous
    ])
    assert daily(views, "b", DAY1) == {"posts": 0, "shares_received": 0, "likes_received": 0, "conversions": 4,
                                       "follower_conversions": 1, "revenue": Decimal("105.3"), "refunded": 0,
                                       "kept_revenue": Decimal("105.3"), "value_per_follower": 105.3}
    assert days_of(views, "c") == []
    # All-time, also from before the follow; the latest order is the last interaction.
    assert ledger(views, "b", "x") == {"shares": 0, "likes": 0, "conversions": 2,
                                       "kept_revenue": Decimal("100.1"), "last_interaction_at": T + 1}


def test_refunds_apply_in_order_capped_by_the_remainder_on_their_own_day():
    day2 = T + DAY_MS
    views = compute_views([
        follow("f1", "x", "b", T - 2 * 3_600_000),
        follow("f2", "y", "b", T - 2 * 3_600_000),
        conversion("o1", "order-1", "b", "100.00", day2, actor="x"),
        refund("rf1", "order-1", T + 2 * 3_600_000, "30", actor="y"),  # the day before its order: 30 on DAY1
        refund("rf2", "order-1", day2 + 3_600_000, "60"),  # 60; 10 remain
        refund("rf3", "order-1", day2 + DAY_MS, "80", actor="x"),  # asks 80, gets the remaining 10, on DAY3
        refund("rf4", "order-1", day2 + DAY_MS + 1),  # the rest: nothing is left
        refund("rf5", "order-1", day2 + DAY_MS + 2, "10"),  # nothing left
        conversion("o2", "order-2", "b", "50", day2 + 2 * 3_600_000, actor="x"),
        refund("rf6", "order-2", day2 + 3 * 3_600_000, "20"),
        conversion("o3", "order-3", "b", "20", day2 + 4 * 3_600_000),
        refund("rf7", "order-3", day2 + 2 * DAY_MS, "5.5"),  # the only event of b on DAY4
        refund("rf8", "order-9", day2 + 3 * DAY_MS),  # an order never seen: nothing, no row
    ])
    assert days_of(views, "b") == [DAY1, DAY2, DAY3, DAY4]
    money = ("conversions", "follower_conversions", "revenue", "refunded", "kept_revenue", "value_per_follower")
    assert daily(views, "b", DAY1, money) == {"conversions": 0, "follower_conversions": 0, "revenue": 0,
                                              "refunded": 30, "kept_revenue": -30, "value_per_follower": -15.0}
    assert daily(views, "b", DAY2, money) == {"conversions": 3, "follower_conversions": 2, "revenue": 170,
                                              "refunded": 80, "kept_revenue": 90, "value_per_follower": 45.0}
    assert daily(views, "b", DAY3, money) == {"conversions": 0, "follower_conversions": 0, "revenue": 0,
                                              "refunded": 10, "kept_revenue": -10, "value_per_follower": -5.0}
    assert daily(views, "b", DAY4, money) == {"conversions": 0, "follower_conversions": 0, "revenue": 0,
                                              "refunded": Decimal("5.5"), "kept_revenue": Decimal("-5.5"),
                                              "value_per_follower": -2.75}
    # Refunds belong to the ORDER's actor (x), whoever sent them; they are no interaction.
    assert ledger(views, "b", "x") == {"shares": 0, "likes": 0, "conversions": 2, "kept_revenue": 30,
                                       "last_interaction_at": day2 + 2 * 3_600_000}
    assert ledger(views, "b", "y") == {"shares": 0, "likes": 0, "conversions": 0, "kept_revenue": 0,
                                       "last_interaction_at": None}


def test_refunds_on_the_same_ts_apply_in_id_order_and_a_refund_of_nothing_makes_no_row():
    views = compute_views([
        conversion("o1", "order-1", "b", "100", T),
        refund("r-b", "order-1", T + DAY_MS, "70"),  # second: gets the remaining 30
        refund("r-a", "order-1", T + DAY_MS, "70"),  # first: 70
        conversion("o2", "order-2", "c", "0", T),  # a free order is an order
        refund("r-c", "order-2", T + DAY_MS),  # refunds nothing: no row for c on DAY2
    ])
    assert daily(views, "b", DAY2, ("refunded", "kept_revenue")) == {"refunded": 100, "kept_revenue": -100}
    assert days_of(views, "c") == [DAY1]
    assert daily(views, "c", DAY1, ("conversions", "revenue")) == {"conversions": 1, "revenue": 0}


def test_money_is_exact():
    views = compute_views([conversion(f"o{i}", f"order-{i}", "b", "0.1", T + i) for i in range(3)]
                          + [refund("r", "order-0", T + 5, "0.0001")])
    row = daily(views, "b", DAY1, ("revenue", "refunded", "kept_revenue"))
    assert row == {"revenue": Decimal("0.3"), "refunded": Decimal("0.0001"), "kept_revenue": Decimal("0.2999")}
    assert all(isinstance(value, Decimal) for value in row.values())


def _thread_h_index(parents: list[tuple[str, str]]) -> tuple[int, int]:
    """(h_index, max_depth) of the conversation "p" with these (post_id, parent_id) replies."""
    events = [post("root", T, actor="owner", post_id="p")]
    events += [reply(f"e{i}", post_id, parent_id, T + i + 1, actor=f"u{i % 3}", root_id="p")
               for i, (post_id, parent_id) in enumerate(parents)]
    row = thread(compute_views(events), "p")
    return row["h_index"], row["max_depth"]


def _level(prefix: str, count: int, parent: str) -> list[tuple[str, str]]:
    return [(f"{prefix}{i}", parent) for i in range(count)]


@pytest.mark.parametrize("parents, expected", [
    ([("a", "missing")], (0, 0)),  # no reply with a depth yet
    ([("a", "p")], (1, 1)),
    (_level("a", 10, "p"), (1, 1)),  # wide and shallow
    ([("a", "p"), ("b", "a"), ("c", "b"), ("d", "c")], (1, 4)),  # deep and narrow: one reply per depth
    (_level("a", 2, "p") + _level("b", 2, "a0"), (2, 2)),
    ([("a", "p")] + _level("b", 2, "a"), (2, 2)),  # 1 at depth 1, 2 at depth 2: exactly h at h
    ([("a", "p"), ("b", "a")] + _level("c", 3, "b"), (3, 3)),  # 1, 1, 3 replies at depths 1, 2, 3
    (_level("a", 3, "p") + _level("b", 3, "a0") + _level("c", 3, "b0") + [("d", "c0")], (3, 4)),
    (_level("a", 3, "p") + _level("b", 2, "a0") + _level("c", 2, "b0"), (2, 3)),  # 3, 2, 2 replies: h = 2
    (_level("a", 3, "p") + [("b", "a0")] + _level("c", 2, "b"), (1, 3)),  # 3, 1, 2 replies: only h = 1 holds
    (_level("a", 2, "p") + [("x", "missing")] + _level("y", 3, "x"), (1, 1)),  # no depth: not counted
], ids=["no-depth", "one", "wide", "chain", "two-by-two", "one-then-two", "one-one-three", "three-levels-of-three",
        "three-two-two", "three-one-two", "waiting-replies"])
def test_h_index(parents, expected):
    assert _thread_h_index(parents) == expected
