"""A benchmark workload: realistic events (~200 bytes of JSON each) over a fixed population.

Accounts, follow pairs and conversations are drawn from populations that grow with the event
count like a real service's would (sub-linearly), so the processor's state — and its memory —
follows accounts, edges and conversations rather than the number of events.
"""
from __future__ import annotations

import random
import uuid
from typing import Iterator

from shared.events import now_ms

MIX = (("click", 40), ("reply", 25), ("post", 10), ("follow", 18), ("unfollow", 7))


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
    replies: dict[str, list[str]] = {}
    for i in range(count):
        kind = rng.choices(kinds, weights)[0]
        if kind == "reply" and not posts:
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
            event.update(actor=actor, post_id=post_id)
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
