"""The account rules build their rows positionally (for speed): each figure must still land in
the column of its name, whatever order the row's fields are declared in."""
from __future__ import annotations

from decimal import Decimal

from shared.domain.accounts import Accounts, Day, Ledger, _follower_row


def test_a_day_row_carries_each_figure_in_its_column() -> None:
    day = Day(edge_events=1, net_followers=2, gained=3, lost=4, net_mutuals=5, followers=6, mutuals=7, replies=8,
              repliers=9, depths={10: 1, 11: 2, 99: 0, 50: -1}, clicks=12, clickers=13, follower_clicks=14,
              posts=15, shares=16, likes=17, conversions=18, follower_conversions=19, revenue=Decimal("20.5"),
              refunded=Decimal("21.25"))
    row = Accounts._day_row("acct", 19_000, day, 22)
    assert {field: getattr(row, field) for field in row.__struct_fields__} == {
        "account": "acct", "day": 19_000, "qualifies": True, "followers": 6, "follows_gained": 3, "unfollows": 4,
        "mutuals": 7, "net_followers": 2, "replies_received": 8, "unique_repliers": 9, "max_thread_depth": 11,
        "clicks": 12, "unique_clickers": 13, "follower_clicks": 14, "posts": 15, "shares_received": 16,
        "likes_received": 17, "conversions": 18, "follower_conversions": 19, "revenue": Decimal("20.5"),
        "refunded": Decimal("21.25"), "version": 22}


def test_a_day_without_replies_has_depth_zero() -> None:
    assert Accounts._day_row("acct", 1, Day(clicks=1), 1).max_thread_depth == 0
    assert Accounts._day_row("acct", 1, Day(depths={3: -1}), 1).max_thread_depth == 0


def test_a_follower_row_carries_each_figure_in_its_column() -> None:
    ledger = Ledger(active=True, since=1, mutual=True, replies=2, clicks=3, shares=4, likes=5, conversions=6,
                    kept_revenue=Decimal("7.5"), last_interaction=8, edge=True)
    row = _follower_row("acct", "fan", ledger, 9)
    assert {field: getattr(row, field) for field in row.__struct_fields__} == {
        "account": "acct", "follower": "fan", "active": True, "since": 1, "mutual": True, "replies": 2,
        "clicks": 3, "shares": 4, "likes": 5, "conversions": 6, "kept_revenue": Decimal("7.5"),
        "last_interaction_at": 8, "version": 9}
