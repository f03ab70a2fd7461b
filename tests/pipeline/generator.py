"""Randomised event sets for the end-to-end tests: everything the contract says may happen.

Shuffled order, duplicates, replies before their parents, ties on ts, anonymous clicks, follow /
unfollow flapping, late edge events, accounts and ids full of unicode, quotes and backslashes;
and of contract v1.1: repeated likes and shares by one actor, self-likes and self-shares, shares
of replies and of posts never seen, duplicate orders (same order_id, other value and target),
free orders, anonymous buyers, refunds before their order, refunds asking for more than remains,
refunds of the rest, refunds of orders never seen. Money is ``Decimal``: send it as JSON numbers
(``tests.pipeline.harness.encode_events``).
"""
from __future__ import annotations

import random
from datetime import datetime, timezone
from decimal import Decimal

from services.bench.workload import reply_trees

DAY_MS = 86_400_000
NASTY = ["ameena", "robert", "sharon", "zoë", "o'brien", 'say "hi"', "back\\slash", "日本語",
         "emoji🙂", "tab\tname", "semi;colon", "comma,name", "x" * 256]


def event_set(seed: int, accounts: int = 12, n_edges: int = 60, n_posts: int = 12, n_replies: int = 120,
              n_clicks: int = 120, days: int = 4, duplicate_rate: float = 0.1, n_reactions: int = 90,
              n_orders: int = 40, n_refunds: int = 40) -> list[dict]:
    """A delivery (list of JSON events) of a random distinct event set, shuffled and duplicated."""
    rng = random.Random(seed)
    names = NASTY[:min(accounts, len(NASTY))] + [f"acct-{i}" for i in range(max(0, accounts - len(NASTY)))]
    start = int(datetime(2026, 11, 10, tzinfo=timezone.utc).timestamp() * 1000)
    # Few distinct timestamps per day, so ties on ts are common.
    moments = [start + rng.randrange(days * DAY_MS) // 60_000 * 60_000 for _ in range(days * 25)]
    events: list[dict] = []
    counter = 0

    def new_id(prefix: str) -> str:
        nonlocal counter
        counter += 1
        return f'{prefix}"{counter}\'é' if counter % 5 == 0 else f"{prefix}-{counter}"

    def ts() -> int | str:
        value = rng.choice(moments)
        if rng.random() < 0.3:  # RFC 3339 with an offset, sometimes
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc).isoformat()
        return value

    for _ in range(n_edges):
        a, b = rng.sample(names, 2)
        events.append({"id": new_id("f"), "type": rng.choice(["follow", "follow", "unfollow"]),
                       "ts": ts(), "actor": a, "target": b})
    roots = []
    for _ in range(n_posts):
        post_id = new_id("p")
        roots.append(post_id)
        events.append({"id": new_id("post"), "type": "post", "ts": ts(), "actor": rng.choice(names),
                       "post_id": post_id})
    roots.append("never-posted-root")  # a conversation whose owner stays unknown
    nodes: dict[str, list[str]] = {root: [root] for root in roots}
    for _ in range(n_replies):
        root = rng.choice(roots)
        reply_id = new_id("r")
        parent = rng.choice(nodes[root]) if rng.random() < 0.95 else "missing-parent"
        nodes[root].append(reply_id)
        events.append({"id": new_id("reply"), "type": "reply", "ts": ts(), "actor": rng.choice(names),
                       "post_id": reply_id, "parent_id": parent, "root_id": root})
    for _ in range(n_clicks):
        clicker = None if rng.random() < 0.25 else rng.choice(names)
        click = {"id": new_id("c"), "type": "click", "ts": ts(), "actor": clicker, "target": rng.choice(names)}
        if clicker is None and rng.random() < 0.5:
            del click["actor"]
        if rng.random() < 0.5:
            click["post_id"] = rng.choice(roots)
            click["url"] = "https://example.org/" + rng.choice(["a", "b?q='x'", "c"])
        events.append(click)

    # v1.1: shares and likes, mostly of the posts by their owner's audience, with repeats.
    owner = {e["post_id"]: e["actor"] for e in events if e["type"] == "post"}
    reacted = roots + [node for root in roots for node in nodes[root][1:3]]  # roots, some replies, an unknown root
    for _ in range(n_reactions):
        post_id = rng.choice(reacted)
        actor = rng.choice(names[:6])  # few actors: the same one reacts to the same post again
        target = owner.get(post_id, rng.choice(names)) if rng.random() < 0.9 else actor  # some self-reactions
        event = {"id": new_id("sl"), "type": rng.choice(["like", "like", "share"]), "ts": ts(), "actor": actor,
                 "target": target, "post_id": post_id}
        if event["type"] == "share" and rng.random() < 0.5:
            event["url"] = "https://example.org/shared/" + post_id
        events.append(event)
    # Orders and refunds on a small pool of order ids: duplicates, and refunds on either side of
    # their order in time.
    order_ids = [f'order-{i}' if i % 4 else f'order "{i}" \\ é' for i in range(n_orders // 2)]

    def money() -> Decimal:
        return Decimal(rng.choice([0, 1, 5, 99, 10_000, 123_456])) + Decimal(rng.randrange(10_000)).scaleb(-4)

    for _ in range(n_orders):
        order = {"id": new_id("o"), "type": "conversion", "ts": ts(), "target": rng.choice(names),
                 "order_id": rng.choice(order_ids), "value": money() if rng.random() < 0.95 else Decimal(0)}
        if rng.random() < 0.8:
            order["actor"] = rng.choice(names)
        if rng.random() < 0.3:
            order["post_id"] = rng.choice(roots)
        events.append(order)
    for _ in range(n_refunds):
        refund = {"id": new_id("rf"), "type": "refund", "ts": ts(),
                  "order_id": rng.choice(order_ids + ["order-never-seen"])}
        if rng.random() < 0.6:  # else: the rest of the order
            refund["value"] = money() + Decimal("0.0001")
        if rng.random() < 0.5:
            refund["actor"] = rng.choice(names)
        events.append(refund)

    delivery = events + [dict(e) for e in rng.sample(events, int(len(events) * duplicate_rate))]
    rng.shuffle(delivery)
    return delivery




def viral_conversation(replies: int, seed: int = 1) -> list[dict]:
    """One post and ``replies`` replies to it: a random reply tree, about 30 % of the replies
    delivered before their parent (the bench's viral workload, services.bench.workload)."""
    start = int(datetime(2026, 11, 10, tzinfo=timezone.utc).timestamp() * 1000)
    return list(reply_trees(replies, 1, seed=seed, start=start))
