"""Randomised event sets for the end-to-end tests: everything the contract says may happen.

Shuffled order, duplicates, replies before their parents, ties on ts, anonymous clicks, follow /
unfollow flapping, late edge events, accounts and ids full of unicode, quotes and backslashes.
"""
from __future__ import annotations

import random
from datetime import datetime, timezone

DAY_MS = 86_400_000
NASTY = ["ameena", "robert", "sharon", "zoë", "o'brien", 'say "hi"', "back\\slash", "日本語",
         "emoji🙂", "tab\tname", "semi;colon", "comma,name", "x" * 256]


def event_set(seed: int, accounts: int = 12, n_edges: int = 60, n_posts: int = 12, n_replies: int = 120,
              n_clicks: int = 120, days: int = 4, duplicate_rate: float = 0.1) -> list[dict]:
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

    delivery = events + [dict(e) for e in rng.sample(events, int(len(events) * duplicate_rate))]
    rng.shuffle(delivery)
    return delivery
