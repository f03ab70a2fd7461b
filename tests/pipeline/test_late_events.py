"""Late events hit days the processor has already aggregated: a follow or unfollow arriving a
week late changes the followers of every later day, the mutuals of both accounts, and whether
earlier clicks came from a follower — also when the processor and the sink are SIGKILLed while
those late events are processed. The views equal the reference."""
from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timezone

import pytest

from shared.events import parse_event
from tests.pipeline.harness import Pipeline, assert_views_equal, encode_events, reference_rows

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]

DAY_MS = 86_400_000
START = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp() * 1000)
ACCOUNTS = ["ameena", "robert", "sharon", "dailybuzz", "zoë", "o'brien"]


def world(seed: int, days: int = 12) -> tuple[list[dict], list[dict]]:
    """Ordinary activity day by day, and late follows/unfollows (and clicks) dated days back."""
    rng = random.Random(seed)
    on_time, late = [], []
    for day in range(days):
        for i in range(40):
            ts = START + day * DAY_MS + rng.randrange(DAY_MS)
            a, b = rng.sample(ACCOUNTS, 2)
            kind = rng.choice(["follow", "follow", "unfollow", "click", "click", "post"])
            event = {"id": f"d{day}-{i}", "type": kind, "ts": ts}
            if kind == "post":
                event.update(actor=a, post_id=f"p{day}-{i}")
            elif kind == "click":
                event.update(actor=a if rng.random() < 0.8 else None, target=b)
            else:
                event.update(actor=a, target=b)
            on_time.append(event)
    for i in range(120):  # one to nine days late
        a, b = rng.sample(ACCOUNTS, 2)
        ts = START + rng.randrange(days - 9, days - 1) * DAY_MS + rng.randrange(DAY_MS)
        late.append({"id": f"late-{i}", "type": rng.choice(["follow", "unfollow"]), "ts": ts, "actor": a, "target": b})
    return on_time, late


def test_late_follows_and_unfollows_rewrite_already_aggregated_days_exactly(broker, clickhouse, tmp_path):
    on_time, late = world(seed=3)
    pipeline = Pipeline(broker, clickhouse, tmp_path / "logs")
    try:
        pipeline.start()
        pipeline.post(on_time, batch=40)
        pipeline.drain()
        before = pipeline.views()["account_daily"]
        assert_views_equal(pipeline.views(), reference_rows(parse_event(encode_events(e)) for e in on_time))

        def send_late():
            for start in range(0, len(late), 8):
                pipeline.post(late[start:start + 8])
                time.sleep(0.1)

        sender = threading.Thread(target=send_late, daemon=True)
        sender.start()
        time.sleep(0.6)
        pipeline.kill("processor")
        pipeline.start("processor")
        time.sleep(0.3)
        pipeline.kill("accounts")
        pipeline.start("accounts")
        time.sleep(0.3)
        pipeline.kill("sink")
        pipeline.start("sink")
        sender.join(timeout=120)
        assert not sender.is_alive()
        pipeline.drain()

        everything = on_time + late
        after = pipeline.views()
        assert_views_equal(after, reference_rows(parse_event(encode_events(e)) for e in everything))
        old = {(r["account"], r["day"]): r for r in before}
        rewritten = [r for r in after["account_daily"] if (r["account"], r["day"]) in old
                     and r["followers"] != old[(r["account"], r["day"])]["followers"]]
        assert len(rewritten) > 10, "the late events should have changed the followers of many aggregated days"
    finally:
        pipeline.stop_all()
