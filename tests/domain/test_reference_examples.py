"""The reference views (tests/reference.py) on the contract's examples and hand-computed cases."""
from datetime import date, datetime

from shared.events import parse_event, ts_to_ms
from tests.domain.builders import click, follow, post, reply, unfollow
from tests.reference import compute_views

CONTRACT_EXAMPLES = [
    '{"id":"e1","type":"post","ts":"2026-11-20T09:00:00Z","actor":"ameena","post_id":"p1"}',
    '{"id":"e2","type":"reply","ts":"2026-11-20T09:05:00Z","actor":"robert","post_id":"r1","parent_id":"p1","root_id":"p1"}',
    '{"id":"e3","type":"reply","ts":"2026-11-20T09:30:00Z","actor":"ameena","post_id":"r2","parent_id":"r1","root_id":"p1"}',
    '{"id":"e4","type":"follow","ts":"2026-11-20T10:00:00Z","actor":"sharon","target":"ameena"}',
    '{"id":"e5","type":"click","ts":1763632800000,"actor":null,"target":"ameena","post_id":"p1","url":"https://example.org/a"}',
]


def at(text: str) -> int:
    return ts_to_ms(datetime.fromisoformat(text))


def daily(views, account, day):
    [row] = [r for r in views["account_daily"] if (r["account"], r["day"]) == (account, day)]
    return row


def days_of(views):
    return [(r["account"], r["day"]) for r in views["account_daily"]]


def test_contract_examples():
    received_at = at("2026-11-21T00:00:00Z")
    views = compute_views(parse_event(raw, received_at) for raw in CONTRACT_EXAMPLES)

    assert [r["id"] for r in views["events"]] == ["e5", "e1", "e2", "e3", "e4"]
    assert views["events"][0] == {"id": "e5", "type": "click", "ts": 1763632800000, "actor": None, "target": "ameena",
                                  "post_id": "p1", "parent_id": None, "root_id": None,
                                  "url": "https://example.org/a", "received_at": received_at}
    assert views["threads"] == [{"root_id": "p1", "owner": "ameena", "replies": 2, "max_depth": 2,
                                 "participants": 1, "owner_replies": 1, "first_reply_at": at("2026-11-20T09:05:00Z"),
                                 "last_reply_at": at("2026-11-20T09:30:00Z"), "h_index": 1, "shares": 0, "likes": 0}]
    assert views["followers"] == [{"account": "ameena", "follower": "sharon", "since": at("2026-11-20T10:00:00Z"),
                                   "mutual": False, "replies": 0, "clicks": 0, "last_interaction_at": None,
                                   "shares": 0, "likes": 0, "conversions": 0, "kept_revenue": 0}]
    # e5's epoch milliseconds fall on 2025-11-20, a year before the other examples.
    assert days_of(views) == [("ameena", date(2025, 11, 20)), ("ameena", date(2026, 11, 20))]
    assert daily(views, "ameena", date(2026, 11, 20)) == {
        "account": "ameena", "day": date(2026, 11, 20), "followers": 1, "follows_gained": 1, "unfollows": 0,
        "mutuals": 0, "churn_rate": None, "replies_received": 1, "unique_repliers": 1, "max_thread_depth": 1,
        "clicks": 0, "unique_clickers": 0, "follower_clicks": 0, "clicks_per_follower": 0.0,
        "engagement_per_follower": 1.0, "posts": 1, "shares_received": 0, "likes_received": 0, "conversions": 0,
        "follower_conversions": 0, "revenue": 0, "refunded": 0, "kept_revenue": 0, "value_per_follower": 0.0}
    assert daily(views, "ameena", date(2025, 11, 20)) == {
        "account": "ameena", "day": date(2025, 11, 20), "followers": 0, "follows_gained": 0, "unfollows": 0,
        "mutuals": 0, "churn_rate": None, "replies_received": 0, "unique_repliers": 0, "max_thread_depth": 0,
        "clicks": 1, "unique_clickers": 0, "follower_clicks": 0, "clicks_per_follower": None,
        "engagement_per_follower": None, "posts": 0, "shares_received": 0, "likes_received": 0, "conversions": 0,
        "follower_conversions": 0, "revenue": 0, "refunded": 0, "kept_revenue": 0, "value_per_follower": None}


def test_churn_divides_by_the_followers_at_the_end_of_the_previous_day():
    views = compute_views([
        follow("f1", "x", "b", at("2026-11-01T10:00:00Z")),
        follow("f2", "y", "b", at("2026-11-01T11:00:00Z")),
        follow("f3", "b", "x", at("2026-11-01T12:00:00Z")),
        unfollow("u1", "x", "b", at("2026-11-02T09:00:00Z")),
    ])
    day1, day2 = date(2026, 11, 1), date(2026, 11, 2)
    assert days_of(views) == [("b", day1), ("b", day2), ("x", day1)]
    pick = ("followers", "follows_gained", "unfollows", "mutuals", "churn_rate")
    assert [daily(views, "b", day1)[c] for c in pick] == [2, 2, 0, 1, None]
    assert [daily(views, "b", day2)[c] for c in pick] == [1, 0, 1, 0, 0.5]
    assert [daily(views, "x", day1)[c] for c in pick] == [1, 1, 0, 1, None]
    assert [(r["account"], r["follower"], r["mutual"]) for r in views["followers"]] == [
        ("b", "y", False), ("x", "b", False)]


def test_repeated_follow_is_no_transition_and_end_of_day_counts_the_whole_day():
    views = compute_views([
        follow("f1", "x", "b", at("2026-11-01T10:00:00Z")),
        follow("f2", "x", "b", at("2026-11-01T11:00:00Z")),
        unfollow("u1", "x", "b", at("2026-11-01T23:59:59.999Z")),
    ])
    row = daily(views, "b", date(2026, 11, 1))
    assert (row["follows_gained"], row["unfollows"], row["followers"], row["clicks_per_follower"]) == (1, 1, 0, None)
    assert views["followers"] == []


def test_clicks_from_followers_count_from_the_follow_ts_on():
    t = at("2026-11-01T10:00:00Z")
    views = compute_views([
        follow("f1", "x", "b", t),
        click("c1", "b", t - 1, actor="x"),
        click("c2", "b", t, actor="x"),
        click("c3", "b", t + 1),
        click("c4", "b", t + 2, actor="y"),
    ])
    row = daily(views, "b", date(2026, 11, 1))
    assert [row[c] for c in ("clicks", "unique_clickers", "follower_clicks", "clicks_per_follower",
                             "engagement_per_follower")] == [4, 2, 1, 4.0, 4.0]
    assert views["followers"] == [{"account": "b", "follower": "x", "since": t, "mutual": False,
                                   "replies": 0, "clicks": 2, "last_interaction_at": t, "shares": 0, "likes": 0,
                                   "conversions": 0, "kept_revenue": 0}]


def test_thread_with_unknown_owner_and_a_reply_waiting_for_its_parent():
    t = at("2026-11-01T10:00:00Z")
    views = compute_views([
        reply("r1", "a", parent_id="p9", ts=t, actor="u1", root_id="p9"),
        reply("r3", "c", parent_id="missing", ts=t + 2, actor="u2", root_id="p9"),
        reply("r4", "d", parent_id="a", ts=t + 3, actor="u1", root_id="p9"),
    ])
    assert views["threads"] == [{"root_id": "p9", "owner": None, "replies": 3, "max_depth": 2, "participants": 2,
                                 "owner_replies": 0, "first_reply_at": t, "last_reply_at": t + 3, "h_index": 1,
                                 "shares": 0, "likes": 0}]
    assert views["account_daily"] == []


def test_the_owners_own_replies_do_not_create_a_daily_row():
    views = compute_views([
        post("p", at("2026-11-01T10:00:00Z"), actor="b", post_id="p1"),
        reply("r1", "a", parent_id="p1", ts=at("2026-11-02T10:00:00Z"), actor="b", root_id="p1"),
        reply("r2", "c", parent_id="a", ts=at("2026-11-03T10:00:00Z"), actor="u", root_id="p1"),
    ])
    assert days_of(views) == [("b", date(2026, 11, 1)), ("b", date(2026, 11, 3))]
    row = daily(views, "b", date(2026, 11, 3))
    assert [row[c] for c in ("replies_received", "unique_repliers", "max_thread_depth", "engagement_per_follower")] \
        == [1, 1, 2, None]


def test_follower_ledger():
    t = at("2026-11-01T10:00:00Z")
    views = compute_views([
        follow("f1", "x", "b", t),
        unfollow("u1", "x", "b", t + 1),
        follow("f2", "x", "b", t + 2),
        follow("f3", "x", "b", t + 3),
        follow("f4", "b", "x", t + 4),
        post("p", t, actor="b", post_id="p1"),
        post("q", t, actor="z", post_id="q1"),
        reply("r1", "a", parent_id="p1", ts=t + 5, actor="x", root_id="p1"),
        reply("r2", "c", parent_id="a", ts=t + 7, actor="x", root_id="p1"),
        reply("r3", "d", parent_id="q1", ts=t + 9, actor="x", root_id="q1"),
        click("c1", "b", t + 6, actor="x"),
    ])
    no_v11 = {"shares": 0, "likes": 0, "conversions": 0, "kept_revenue": 0}
    assert views["followers"] == [
        {"account": "b", "follower": "x", "since": t + 2, "mutual": True, "replies": 2, "clicks": 1,
         "last_interaction_at": t + 7, **no_v11},
        {"account": "x", "follower": "b", "since": t + 4, "mutual": True, "replies": 0, "clicks": 0,
         "last_interaction_at": None, **no_v11},
    ]


def test_an_event_id_counts_once_and_the_first_occurrence_wins():
    t = at("2026-11-01T10:00:00Z")
    views = compute_views([click("c1", "b", t, actor="x"), click("c1", "b", t, actor="x"), click("c1", "other", t)])
    assert [r["id"] for r in views["events"]] == ["c1"]
    assert [(r["account"], r["clicks"]) for r in views["account_daily"]] == [("b", 1)]
