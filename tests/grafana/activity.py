"""Realistic, seeded social activity for the dashboard and alert tests (and the docs' pictures).

Accounts post every day; their audience replies in conversation trees that grow deeper (and the
owner answers some replies), clicks their links (followers, non-followers, anonymous visitors),
likes and shares their posts, buys from them (some orders refunded days later, in full or in
part), follows them (some get followed back) and sometimes unfollows. ``engagement_factor``
scales one day's replies, clicks, likes, shares and orders, to plant a drop; ``refund_wave``
refunds a share of one day's orders that same day (a recall: revenue looks normal, kept revenue
does not). Same seed, same events; the v1.1 activity (likes, shares, orders, refunds) draws from
its own random stream, so it leaves the rest exactly as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import numpy as np

DAY_MS = 86_400_000
MINUTE_MS = 60_000
# Audience members: plain names, plus a few a dashboard must quote correctly.
FIRST = ["maya", "tom", "lea", "omar", "ines", "yuki", "sam", "noor", "ivan", "zoe", "ravi", "ana",
         "li", "kofi", "eva", "joao", "mila", "arjun", "nina", "theo"]


@dataclass(frozen=True)
class Account:
    name: str
    audience: int                   # followers before the first day
    replies_per_day: float          # replies received on a normal day (mean)
    clicks_per_day: float
    posts_per_day: float = 3.0
    owner_reply_rate: float = 0.35  # share of received replies the owner answers
    follow_back: float = 0.3        # share of new followers the account follows back
    growth_per_day: float = 0.012   # new followers per day, as a share of the audience
    churn_per_day: float = 0.004    # share of followers who leave on a given day
    likes_per_day: float = 30.0
    shares_per_day: float = 6.0
    orders_per_day: float = 4.0
    order_value: float = 40.0       # median order, in the deployment's currency
    refund_rate: float = 0.08       # share of orders refunded one to five days later
    engagement_factor: dict[date, float] = field(default_factory=dict)  # day -> multiplier of the engagement
    refund_wave: dict[date, float] = field(default_factory=dict)  # day -> share of its orders refunded that day


def day_start_ms(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=timezone.utc).timestamp() * 1000)


class _World:
    def __init__(self, seed: int, fans: int):
        self.rng = np.random.default_rng(seed)
        self.value_rng = np.random.default_rng([seed, 11])  # likes, shares, orders, refunds
        self.fans = [f"{FIRST[i % len(FIRST)]}.{i // len(FIRST)}" for i in range(fans)]
        self.fans[7], self.fans[11] = "d'arcy", "back\\slash"
        self.events: list[dict] = []
        self.counter = 0

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, **event) -> None:
        self.events.append({"id": self.new_id("ev"), **event})

    def pick(self, items: list):
        return items[int(self.rng.integers(len(items)))]


def activity(accounts: list[Account], first_day: date, last_day: date, seed: int = 1, fans: int = 1500) -> list[dict]:
    """Events from ``first_day`` to ``last_day`` (UTC, inclusive), plus the audiences' earlier follows.
    Order values are ``Decimal``: send them as JSON numbers."""
    world = _World(seed, fans)
    followers: dict[str, set[str]] = {}
    for account in accounts:
        crowd = [f for f in world.fans if f != account.name]
        chosen = world.rng.choice(len(crowd), size=min(account.audience, len(crowd)), replace=False)
        followers[account.name] = set()
        start = day_start_ms(first_day) - 60 * DAY_MS  # audiences built up over the two months before
        for index in sorted(chosen):
            fan = crowd[index]
            ts = start + int(world.rng.integers(60 * DAY_MS))
            _follow(world, account, fan, ts, followers[account.name])
    # The accounts know each other: a few mutual follows.
    names = [a.name for a in accounts]
    for a in names:
        for b in names:
            if a != b and world.rng.random() < 0.5:
                world.emit(type="follow", ts=day_start_ms(first_day) - DAY_MS, actor=a, target=b)

    conversations: dict[str, list[dict]] = {a.name: [] for a in accounts}
    day = first_day
    while day <= last_day:
        start = day_start_ms(day)
        for account in accounts:
            factor = account.engagement_factor.get(day, 1.0)
            _day(world, account, start, factor, followers[account.name], conversations[account.name])
            _value(world, account, day, factor, followers[account.name], conversations[account.name],
                   day_start_ms(last_day) + DAY_MS)
        day += timedelta(days=1)
    return world.events


def _follow(world: _World, account: Account, fan: str, ts: int, followers: set[str]) -> None:
    world.emit(type="follow", ts=ts, actor=fan, target=account.name)
    followers.add(fan)
    if world.rng.random() < account.follow_back:
        world.emit(type="follow", ts=ts + int(world.rng.integers(1, 600)) * MINUTE_MS, actor=account.name, target=fan)


def _day(world: _World, account: Account, start: int, factor: float, followers: set[str],
         conversations: list[dict]) -> None:
    rng = world.rng
    end = start + DAY_MS - 1

    def moment() -> int:
        return start + int(rng.integers(DAY_MS - 4 * 60 * MINUTE_MS))  # leaves room for answers the same day

    for _ in range(rng.poisson(account.posts_per_day)):
        post_id, ts = world.new_id("post"), moment()
        world.emit(type="post", ts=ts, actor=account.name, post_id=post_id)
        conversations.append({"root": post_id, "ts": ts, "replies": []})
    del conversations[:-9]  # people reply to the last few days' posts
    audience = sorted(followers)
    non_followers = [f for f in world.fans if f not in followers and f != account.name]

    # A planted drop scales the day's draw, so it is exactly as deep as asked, noise aside.
    for _ in range(round(rng.poisson(account.replies_per_day) * factor)):
        ts = moment()
        open_ones = [c for c in conversations if c["ts"] < ts]
        if not open_ones:
            continue
        conversation = open_ones[-1 - int(rng.integers(min(3, len(open_ones))))]
        earlier = [r for r in conversation["replies"] if r["ts"] < ts]
        # Half answer the post, half join a recent branch: trees get deep as well as wide.
        parent = conversation["root"] if not earlier or rng.random() < 0.5 else world.pick(earlier[-4:])["post_id"]
        actor = world.pick(audience) if audience and rng.random() < 0.8 else world.pick(non_followers)
        reply = {"post_id": world.new_id("reply"), "ts": ts}
        world.emit(type="reply", ts=ts, actor=actor, post_id=reply["post_id"], parent_id=parent,
                   root_id=conversation["root"])
        conversation["replies"].append(reply)
        if rng.random() < account.owner_reply_rate:
            answer = {"post_id": world.new_id("reply"), "ts": min(end, ts + int(rng.integers(1, 180)) * MINUTE_MS)}
            world.emit(type="reply", ts=answer["ts"], actor=account.name, post_id=answer["post_id"],
                       parent_id=reply["post_id"], root_id=conversation["root"])
            conversation["replies"].append(answer)

    for _ in range(round(rng.poisson(account.clicks_per_day) * factor)):
        roll = rng.random()
        actor = (world.pick(audience) if audience and roll < 0.6
                 else world.pick(non_followers) if roll < 0.85 else None)
        click = {"type": "click", "ts": moment(), "actor": actor, "target": account.name}
        if conversations and rng.random() < 0.7:
            click["post_id"] = world.pick(conversations)["root"]
            click["url"] = f"https://example.org/{click['post_id']}"
        world.emit(**click)

    for _ in range(rng.poisson(account.growth_per_day * max(account.audience, 10))):
        if non_followers:
            fan = non_followers.pop(int(rng.integers(len(non_followers))))
            _follow(world, account, fan, moment(), followers)
    for _ in range(rng.poisson(account.churn_per_day * len(followers))):
        if followers:
            fan = world.pick(sorted(followers))
            world.emit(type="unfollow", ts=moment(), actor=fan, target=account.name)
            followers.discard(fan)


def _value(world: _World, account: Account, day: date, factor: float, followers: set[str],
           conversations: list[dict], end_ms: int) -> None:
    """One day's likes, shares and orders of an account, and the refunds of its orders (v1.1)."""
    rng = world.value_rng
    start = day_start_ms(day)
    posts = [c for c in conversations if c["ts"] >= start - 2 * DAY_MS]
    audience = sorted(followers)
    non_followers = [f for f in world.fans if f not in followers and f != account.name]

    def person(follower_share: float, anonymous_share: float) -> str | None:
        roll = rng.random()
        if audience and roll < follower_share:
            return audience[int(rng.integers(len(audience)))]
        if roll < 1 - anonymous_share and non_followers:
            return non_followers[int(rng.integers(len(non_followers)))]
        return None

    for kind, per_day in (("like", account.likes_per_day), ("share", account.shares_per_day)):
        for _ in range(round(rng.poisson(per_day) * factor) if posts else 0):
            post = posts[int(rng.integers(len(posts)))]
            ts = post["ts"] + int(rng.integers(1, 600)) * MINUTE_MS
            actor = person(0.8, 0.01) or account.name  # an occasional self-like or self-share
            if ts < end_ms:
                world.emit(type=kind, ts=ts, actor=actor, target=account.name, post_id=post["root"])
                if kind == "like" and rng.random() < 0.03:  # a re-tap: counted once
                    world.emit(type=kind, ts=ts + MINUTE_MS, actor=actor, target=account.name, post_id=post["root"])

    wave = account.refund_wave.get(day, 0.0)
    for _ in range(round(rng.poisson(account.orders_per_day) * factor)):
        ts = start + int(rng.integers(DAY_MS - 6 * 60 * MINUTE_MS))
        cents = max(100, round(account.order_value * 100 * rng.lognormal(0.0, 0.3)))
        value = Decimal(cents).scaleb(-2)
        order = {"type": "conversion", "ts": ts, "target": account.name, "order_id": world.new_id("order"),
                 "value": value}
        buyer = person(0.7, 0.1)  # anonymous buyers too
        if buyer is not None:
            order["actor"] = buyer
        world.emit(**order)
        refund = {"type": "refund", "order_id": order["order_id"]}
        if rng.random() < wave:
            refund["ts"] = ts + int(rng.integers(10, 300)) * MINUTE_MS  # the same day
        elif rng.random() < account.refund_rate:
            refund["ts"] = ts + int(rng.integers(1, 6)) * DAY_MS + int(rng.integers(DAY_MS))
            if rng.random() < 0.4:  # a partial refund
                refund["value"] = (value * Decimal(int(rng.integers(10, 90))) / 100).quantize(Decimal("0.01"))
        else:
            continue
        if refund["ts"] < end_ms:
            world.emit(**refund)
