"""A benchmark workload: realistic events (~200 bytes of JSON each) over a fixed population.

Accounts, follow pairs and conversations are drawn from populations that grow with the event
count like a real service's would (sub-linearly), so the processor's state — and its memory —
follows accounts, edges and conversations rather than the number of events.
"""
from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Iterator

import msgspec

from shared.events import now_ms

# Contract v1.1 included: likes and shares of posts, orders (conversions) and refunds.
MIX = (("click", 36), ("reply", 23), ("post", 9), ("follow", 16), ("unfollow", 6), ("like", 6), ("share", 2),
       ("conversion", 1.5), ("refund", 0.5))

# Money travels as JSON numbers (never floats): encode workload events with this.
encode_json = msgspec.json.Encoder(decimal_format="number").encode


def realistic_events(count: int, seed: int = 7, id_prefix: str = "", now: int | None = None) -> list[dict]:
    return list(iter_events(count, seed, id_prefix, now))


def iter_events(count: int, seed: int = 7, id_prefix: str = "", now: int | None = None) -> Iterator[dict]:
    """The same events as ``realistic_events``, generated lazily (10^7 events do not fit as dicts).
    Times fall in the week before ``now`` (default: the current time)."""
    rng = random.Random(seed)
    n_accounts = max(1000, int(count ** 0.75))
    accounts = [f"acct_{rng.randrange(10**12):012d}" for _ in range(n_accounts)]
    kinds, weights = zip(*MIX)
    now = now_ms() if now is None else now
    posts: list[str] = []
    authors: dict[str, str] = {}
    orders: list[str] = []
    replies: dict[str, list[str]] = {}
    for i in range(count):
        kind = rng.choices(kinds, weights)[0]
        if kind in ("reply", "like", "share") and not posts:
            kind = "post"
        # Heavy-tailed activity: low account indexes are much busier.
        actor = accounts[min(int(rng.paretovariate(1.2)) - 1, n_accounts - 1)]
        target = accounts[rng.randrange(n_accounts)]
        if target == actor:
            target = accounts[(accounts.index(actor) + 1) % n_accounts]
        event: dict = {"id": f"{id_prefix}{uuid.UUID(int=rng.getrandbits(128))}", "type": kind,
                       "ts": now - rng.randrange(7 * 86_400_000)}
        if kind in ("follow", "unfollow"):
            event.update(actor=actor, target=target)
        elif kind == "post":
            post_id = f"post_{i}"
            posts.append(post_id)
            authors[post_id] = actor
            event.update(actor=actor, post_id=post_id)
        elif kind in ("like", "share"):
            post_id = posts[-min(int(rng.paretovariate(1.0)), len(posts))]
            event.update(actor=actor, target=authors[post_id], post_id=post_id)
            if event["target"] == actor:
                event["actor"] = target if target != actor else accounts[0]
        elif kind == "conversion":
            order_id = f"order_{i}"
            orders.append(order_id)
            event.update(actor=actor if rng.random() < 0.8 else None, target=target, order_id=order_id,
                         value=Decimal(rng.randrange(100, 50_000)).scaleb(-2))
        elif kind == "refund":
            # Most refunds follow their order; some arrive first (an order id not seen yet).
            order_id = rng.choice(orders) if orders and rng.random() < 0.9 else f"order_{i + 1}"
            event.update(order_id=order_id)
            if rng.random() < 0.5:
                event["value"] = Decimal(rng.randrange(100, 20_000)).scaleb(-2)
        elif kind == "reply":
            # Recent posts get most replies; old threads stay open with a long tail.
            root = posts[-min(int(rng.paretovariate(1.0)), len(posts))]
            thread = replies.setdefault(root, [root])
            if len(thread) > 200:  # keep the parent pool small: only its recent part matters
                del thread[1:100]
            post_id = f"reply_{i}"
            event.update(actor=actor, post_id=post_id, parent_id=rng.choice(thread), root_id=root)
            thread.append(post_id)
        else:
            event.update(actor=actor if rng.random() < 0.7 else None, target=target,
                         post_id=rng.choice(posts) if posts else None,
                         url=f"https://example.org/{target}/articles/{rng.randrange(10**6)}")
        yield event


def reply_trees(replies: int, conversations: int = 1, seed: int = 1, early_share: float = 0.3,
                repliers: int = 5000, id_prefix: str = "v", start: int | None = None) -> Iterator[dict]:
    """``conversations`` posts and ``replies`` replies spread evenly over them: each conversation a
    random reply tree (a reply answers the root or an earlier reply, recent ones more often, so
    threads grow deep as well as wide), delivered post first and then in order, except that about
    ``early_share`` of the replies arrive before their parent. Compact while ordering, so that a
    million replies fit; events are made as they are yielded."""
    rng = random.Random(seed)
    start = now_ms() - 86_400_000 if start is None else start
    owners = [f"owner{c}" for c in range(conversations)]
    keyed: list[tuple[float, int, int]] = []  # (delivery key, reply number, parent reply number or -1)
    key_of: list[float] = []
    per_conversation = max(1, replies // conversations)
    for i in range(replies):
        c, n = divmod(i, per_conversation) if conversations > 1 else (0, i)
        c = min(c, conversations - 1)
        first = c * per_conversation
        parent = -1
        if n and rng.random() < 0.9:
            parent = max(first, i - 1 - int(rng.expovariate(1 / 50)))
        key = float(i)
        if parent >= 0 and rng.random() < early_share:
            key = rng.uniform(-1.0, key_of[parent])  # delivered before its parent
        key_of.append(key)
        keyed.append((key, i, parent))
    keyed.sort()
    for c in range(conversations):
        yield {"id": f"{id_prefix}-post{c}", "type": "post", "ts": start, "actor": owners[c], "post_id": f"{id_prefix}-c{c}"}
    for _, i, parent in keyed:
        c = min(i // per_conversation, conversations - 1) if conversations > 1 else 0
        root = f"{id_prefix}-c{c}"
        actor = owners[c] if rng.random() < 0.05 else f"u{rng.randrange(repliers)}"
        yield {"id": f"{id_prefix}-e{i}", "type": "reply", "ts": start + i, "actor": actor, "post_id": f"{id_prefix}-r{i}",
               "parent_id": root if parent < 0 else f"{id_prefix}-r{parent}", "root_id": root}
