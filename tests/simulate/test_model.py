"""The simulator's generator (pure): deterministic, valid per the contract, and realistic in the
ways the demo relies on (heavy tail, decaying reply depth, reciprocity, churn, daily rhythm,
the accounts' story, a planted drop)."""
from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from services.simulate.model import (BACKSTORY_DAYS, BIG, DAY_MS, RICH, STEADY, Drop, SimulationConfig,
                                     account_names, simulate)
from shared.events import parse_event

encode = msgspec.json.Encoder(decimal_format="number").encode  # as the sender sends them
END = datetime(2026, 11, 20, tzinfo=timezone.utc)
CONFIG = SimulationConfig(seed=3, end=END, days=14, events=20_000)
END_MS = int(END.timestamp() * 1000)


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return list(simulate(CONFIG))


def final_edges(events: list[dict]) -> set[tuple[str, str]]:
    """Active (follower, account) edges after all events, by the contract's rule."""
    state: dict[tuple[str, str], bool] = {}
    for event in sorted(events, key=lambda e: (e["ts"], e["id"])):
        if event["type"] in ("follow", "unfollow"):
            state[(event["actor"], event["target"])] = event["type"] == "follow"
    return {edge for edge, active in state.items() if active}


def depths(events: list[dict]) -> dict[str, int]:
    """Depth of every post and reply (the root is 0)."""
    depth: dict[str, int] = {}
    for event in events:  # parents come first: the stream is in time order
        if event["type"] == "post":
            depth[event["post_id"]] = 0
        elif event["type"] == "reply":
            depth[event["post_id"]] = depth[event["parent_id"]] + 1
    return depth


def received_engagement(events: list[dict]) -> Counter:
    """Replies by others in an account's conversations plus clicks on it, per account."""
    owner = {e["post_id"]: e["actor"] for e in events if e["type"] == "post"}
    received: Counter = Counter()
    for event in events:
        if event["type"] == "click":
            received[event["target"]] += 1
        elif event["type"] == "reply" and event["actor"] != owner[event["root_id"]]:
            received[owner[event["root_id"]]] += 1
    return received


def test_same_config_same_events_whatever_the_hash_seed(events):
    digest = hashlib.sha256(encode(events)).hexdigest()
    script = ("import hashlib, msgspec; from datetime import datetime, timezone; "
              "from services.simulate.model import SimulationConfig, simulate; "
              "events = list(simulate(SimulationConfig(seed=3, end=datetime(2026, 11, 20, tzinfo=timezone.utc), "
              "days=14, events=20_000))); "
              "print(hashlib.sha256(msgspec.json.Encoder(decimal_format='number').encode(events)).hexdigest())")
    root = Path(__file__).resolve().parents[2]
    for hash_seed in ("1", "2"):
        other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=root,
                               env={**os.environ, "PYTHONHASHSEED": hash_seed}).stdout.strip()
        assert other == digest
    assert list(simulate(replace(CONFIG, seed=4)))[:50] != events[:50]


def test_ids_are_unique_and_distinct_between_simulations(events):
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids)
    post_ids = [e["post_id"] for e in events if e["type"] in ("post", "reply")]
    assert len(set(post_ids)) == len(post_ids)
    order_ids = [e["order_id"] for e in events if e["type"] == "conversion"]
    assert len(set(order_ids)) == len(order_ids)
    # Another window (a later day) or seed names its events differently; a drop does not.
    assert replace(CONFIG, end=END + timedelta(days=1)).id_prefix != CONFIG.id_prefix
    assert replace(CONFIG, seed=4).id_prefix != CONFIG.id_prefix
    assert replace(CONFIG, drop=Drop(STEADY)).id_prefix == CONFIG.id_prefix


def test_every_event_is_valid_per_the_contract_and_inside_its_window(events):
    now = END_MS + 60_000
    for event in events:
        parsed = parse_event(encode(event), received_at_ms=now)
        assert parsed.id == event["id"]
    first = END_MS - (CONFIG.days + BACKSTORY_DAYS) * DAY_MS
    assert all(first <= e["ts"] < END_MS for e in events)
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)


def test_total_is_close_to_the_requested_number():
    for size in (2_000, 20_000, 60_000):
        total = sum(1 for _ in simulate(replace(CONFIG, events=size)))
        assert 0.8 * size <= total <= 1.2 * size, (size, total)


def test_follower_counts_are_heavy_tailed(events):
    followers = Counter(account for _, account in final_edges(events))
    counts = sorted(followers.values(), reverse=True)
    median = statistics.median(counts)
    assert counts[0] >= 10 * median
    top_tenth = counts[:len(counts) // 10]
    assert sum(top_tenth) >= 0.4 * sum(counts)  # the top 10% of accounts hold most follows
    assert followers.most_common(1)[0][0] == BIG


def test_reply_depth_decays_and_answering_owners_get_deep_threads(events):
    depth = depths(events)
    replies = [e for e in events if e["type"] == "reply"]
    by_depth = Counter(depth[r["post_id"]] for r in replies)
    assert all(by_depth[d] > by_depth[d + 1] for d in range(1, 6)), by_depth
    assert by_depth[1] > 0.5 * len(replies)

    owner = {e["post_id"]: e["actor"] for e in events if e["type"] == "post"}
    deepest: defaultdict[str, int] = defaultdict(int)
    for reply in replies:
        deepest[reply["root_id"]] = max(deepest[reply["root_id"]], depth[reply["post_id"]])
    rich = [d for root, d in deepest.items() if owner[root] == RICH]
    big = [d for root, d in deepest.items() if owner[root] == BIG]
    assert max(rich) >= 6 and statistics.mean(rich) > 2 * statistics.mean(big)
    # Every reply is in a conversation whose chain reaches its root.
    assert all(r["root_id"] in owner and r["parent_id"] in depth for r in replies)


def test_engaged_accounts_follow_back_and_edges_churn(events):
    edges = final_edges(events)

    def follow_back_ratio(account: str) -> float:
        followers = [f for f, a in edges if a == account]
        return sum((account, f) in edges for f in followers) / len(followers)

    assert follow_back_ratio(RICH) > 0.5 > 0.1 > follow_back_ratio(BIG)
    reciprocated = sum((a, f) in edges for f, a in edges) / len(edges)
    assert 0.15 < reciprocated < 0.7

    start = END_MS - CONFIG.days * DAY_MS
    kinds = Counter(e["type"] for e in events if e["ts"] >= start and e["type"] in ("follow", "unfollow"))
    assert kinds["follow"] > kinds["unfollow"] > 0
    # Each edge's history alternates: follow, unfollow, follow, ...
    history: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for event in events:
        if event["type"] in ("follow", "unfollow"):
            history[(event["actor"], event["target"])].append(event["type"])
    assert all(kinds == ["follow", "unfollow"] * (len(kinds) // 2) + ["follow"] * (len(kinds) % 2)
               for kinds in history.values())


def test_clicks_come_from_followers_strangers_and_anonymous_visitors(events):
    clicks = [e for e in events if e["type"] == "click"]
    anonymous = sum("actor" not in c for c in clicks)
    assert 0.05 * len(clicks) < anonymous < 0.25 * len(clicks)
    assert any("post_id" not in c for c in clicks) and any("post_id" in c for c in clicks)


def test_activity_follows_the_hour_of_day(events):
    start = END_MS - CONFIG.days * DAY_MS
    hours = Counter((e["ts"] // 3_600_000) % 24 for e in events if e["ts"] >= start)
    evening = sum(hours[h] for h in (18, 19, 20, 21))
    night = sum(hours[h] for h in (2, 3, 4, 5))
    assert evening > 4 * night


def test_follower_counts_lie(events):
    """The biggest account is not the one whose followers bring the most."""
    followers = Counter(account for _, account in final_edges(events))
    received = received_engagement(events)
    per_follower = {a: received[a] / n for a, n in followers.items() if n >= 10}
    ranked = sorted(per_follower, key=per_follower.get, reverse=True)
    assert ranked[0] == RICH
    assert followers[BIG] > 3 * followers[RICH]
    assert per_follower[RICH] > 3 * per_follower[BIG]


def test_planted_drop_removes_only_the_accounts_engagement_on_the_last_day(events):
    dropped = list(simulate(replace(CONFIG, drop=Drop(STEADY, percent=60, days=1))))
    by_id = {e["id"]: e for e in events}
    assert all(by_id[e["id"]] == e for e in dropped)  # the same events, fewer of them
    kept_ids = {e["id"] for e in dropped}
    removed = [e for e in events if e["id"] not in kept_ids]
    last_day = END_MS - DAY_MS
    owner = {e["post_id"]: e["actor"] for e in events if e["type"] == "post"}
    assert removed and all(e["ts"] >= last_day for e in removed)
    orders = {e["order_id"]: e for e in events if e["type"] == "conversion"}
    assert all(owner[e["root_id"]] == STEADY if e["type"] == "reply"
               else orders[e["order_id"]]["target"] == STEADY if e["type"] == "refund"
               else e["target"] == STEADY for e in removed)
    assert {"click", "reply", "like", "conversion"} <= {e["type"] for e in removed} <= \
        {"click", "reply", "like", "share", "conversion", "refund"}

    def last_day_engagement(stream: list[dict]) -> int:
        return received_engagement([e for e in stream if e["ts"] >= last_day or e["type"] == "post"])[STEADY]

    before, after = last_day_engagement(events), last_day_engagement(dropped)
    assert 0.25 * before < after < 0.55 * before
    kept_replies = {e["post_id"] for e in dropped if e["type"] in ("post", "reply")}
    assert all(e["parent_id"] in kept_replies for e in dropped if e["type"] == "reply")


def test_invalid_configurations_are_refused():
    with pytest.raises(ValueError, match="no account 'nobody'"):
        list(simulate(replace(CONFIG, drop=Drop("nobody"))))
    with pytest.raises(ValueError, match="days"):
        list(simulate(replace(CONFIG, days=0)))
    with pytest.raises(ValueError, match="time zone"):
        list(simulate(replace(CONFIG, end=datetime(2026, 11, 20))))


def test_account_names_are_unique_handles():
    names = account_names(5, 3_000)
    assert len(set(names)) == 3_000 and names[:3] == [BIG, STEADY, RICH]
    assert all(name.replace("_", "").replace(".", "").isalnum() and name.islower() for name in names)


# --- contract v1.1: likes, shares, orders, refunds ---------------------------------------------------

def test_likes_and_shares_are_heavy_tailed_and_most_posts_get_none(events):
    posts = [e["post_id"] for e in events if e["type"] == "post"]
    for kind in ("like", "share"):
        per_post = Counter(e["post_id"] for e in events if e["type"] == kind and e["actor"] != e["target"])
        counts = sorted((per_post[p] for p in posts), reverse=True)
        assert counts.count(0) > 0.5 * len(posts), kind
        assert sum(counts[:len(counts) // 10]) > 0.5 * sum(counts), kind  # the top 10 % of posts get most
        assert counts[0] >= 20, kind
    kinds = Counter(e["type"] for e in events)
    assert 2 * kinds["share"] < kinds["like"] < kinds["click"]


def test_likes_and_shares_come_mostly_from_followers_with_repeats_and_self_likes(events):
    edges = final_edges(events)
    likes = [e for e in events if e["type"] == "like"]
    others = [e for e in likes if e["actor"] != e["target"]]
    assert sum((e["actor"], e["target"]) in edges for e in others) > 0.6 * len(others)
    per_actor_and_post = Counter((e["actor"], e["post_id"]) for e in likes)
    assert any(n > 1 for n in per_actor_and_post.values())  # re-taps: counted once
    assert sum(e["actor"] == e["target"] for e in likes) > 0  # self-likes: counted nowhere
    owner = {e["post_id"]: e["actor"] for e in events if e["type"] == "post"}
    assert all(owner[e["post_id"]] == e["target"] for e in events if e["type"] in ("like", "share"))


def test_orders_come_from_a_few_percent_of_clicks(events):
    clicks = [e for e in events if e["type"] == "click"]
    orders = [e for e in events if e["type"] == "conversion"]
    assert 0.01 * len(clicks) < len(orders) < 0.08 * len(clicks)
    clicked = {(e.get("actor"), e["target"]) for e in clicks}
    assert all((o.get("actor"), o["target"]) in clicked for o in orders)  # the buyer clicked first
    assert any("actor" not in o for o in orders)  # anonymous visitors buy too
    for order in orders:
        value = order["value"]
        assert isinstance(value, Decimal) and value >= 1 and value == value.quantize(Decimal("0.01"))
        assert "currency" not in order  # the deployment's currency, whatever it is


def test_refunds_some_partial_some_twice_some_before_their_order():
    # A longer window than the module's, so there are enough refunds to find every kind.
    events = list(simulate(replace(CONFIG, events=60_000)))
    orders = {e["order_id"]: e for e in events if e["type"] == "conversion"}
    refunds = [e for e in events if e["type"] == "refund"]
    refunded = {r["order_id"] for r in refunds}
    assert 0.05 * len(orders) < len(refunded) < 0.2 * len(orders)
    partial = [r for r in refunds if "value" in r and r["value"] < orders[r["order_id"]]["value"]]
    assert partial and all(r["value"] > 0 for r in partial)
    assert any(r["ts"] < orders[r["order_id"]]["ts"] for r in refunds if r["order_id"] in orders)
    per_order = Counter(r["order_id"] for r in refunds)
    assert any(n > 1 for n in per_order.values())
    assert all(r.get("actor") == orders[r["order_id"]].get("actor") for r in refunds if r["order_id"] in orders)


def test_money_speaks(events):
    """The biggest account's followers buy little and return much; ameena's buy and keep."""
    followers = Counter(account for _, account in final_edges(events))
    orders: dict[str, dict] = {}
    for event in events:
        if event["type"] == "conversion":
            orders.setdefault(event["order_id"], event)
    kept: defaultdict[str, Decimal] = defaultdict(Decimal)
    remaining = {order_id: order["value"] for order_id, order in orders.items()}
    for order in orders.values():
        kept[order["target"]] += order["value"]
    for event in events:
        if event["type"] == "refund" and event["order_id"] in orders:
            amount = min(event.get("value", remaining[event["order_id"]]), remaining[event["order_id"]])
            remaining[event["order_id"]] -= amount
            kept[orders[event["order_id"]]["target"]] -= amount
    per_follower = {a: kept[a] / n for a, n in followers.items() if n >= 10}
    assert max(per_follower, key=per_follower.get) == RICH
    assert per_follower[RICH] > 10 * per_follower[BIG]
