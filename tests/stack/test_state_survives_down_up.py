"""The processor's state (reply trees, follow histories) survives `down`/`up`: the durable event
log keeps the events, the changelogs and the committed offsets, so `up` republishes nothing (the
events topic ends where it ended) and new events meet the old state: a reply to an old
conversation gets its depth, an unfollow of an old follow ends the edge."""
from __future__ import annotations

import json

import asyncio

import httpx
import pytest

from services.stack.supervisor import LocalStack
from shared.events import parse_event
from shared.kafka import compat
from shared.kafka.lag import partitions_of
from tests.pipeline.harness import assert_views_equal, reference_rows
from tests.stack.helpers import richness, views

pytestmark = pytest.mark.stack

BEFORE = [
    {"id": "a1", "type": "post", "ts": "2026-11-20T09:00:00Z", "actor": "ameena", "post_id": "p1"},
    {"id": "a2", "type": "reply", "ts": "2026-11-20T09:05:00Z", "actor": "robert", "post_id": "r1",
     "parent_id": "p1", "root_id": "p1"},
    {"id": "a3", "type": "follow", "ts": "2026-11-20T10:00:00Z", "actor": "sharon", "target": "ameena"},
    {"id": "a4", "type": "follow", "ts": "2026-11-20T10:30:00Z", "actor": "ameena", "target": "sharon"},
]
AFTER = [
    {"id": "b1", "type": "reply", "ts": "2026-11-20T11:00:00Z", "actor": "sharon", "post_id": "r2",
     "parent_id": "r1", "root_id": "p1"},
    {"id": "b2", "type": "unfollow", "ts": "2026-11-20T12:00:00Z", "actor": "sharon", "target": "ameena"},
]


def post(info: dict, events: list[dict]) -> None:
    response = httpx.post(f"{info['ingest_url']}/v1/events", json=events,
                          headers={"Authorization": f"Bearer {info['api_key']}"}, timeout=30)
    assert response.status_code == 202 and response.json()["accepted"] == len(events), response.text


def events_topic_end(data_dir) -> int:
    settings = LocalStack(data_dir).client_settings()

    async def total() -> int:
        ends = await compat.end_offsets(settings, await partitions_of(settings, [settings.events_topic]))
        return sum(ends.values())

    return asyncio.run(total())


def test_state_survives_down_and_up(tmp_path):
    data_dir = str(tmp_path / "stack")
    try:
        richness("up", "--data-dir", data_dir)
        info = json.loads((tmp_path / "stack" / "stack.json").read_text())
        post(info, BEFORE)
        richness("drain", "--data-dir", data_dir, "--timeout", "60")
        end_before = events_topic_end(data_dir)
        assert end_before > 0
        richness("down", "--data-dir", data_dir)

        richness("up", "--data-dir", data_dir)
        assert events_topic_end(data_dir) == end_before  # nothing republished
        info = json.loads((tmp_path / "stack" / "stack.json").read_text())
        assert info["event_log"] == "durable"
        post(info, AFTER)
        richness("drain", "--data-dir", data_dir, "--timeout", "60")
        actual = views(info)
        assert_views_equal(actual, reference_rows(parse_event(json.dumps(e)) for e in BEFORE + AFTER))
        assert actual["threads"][0]["max_depth"] == 2
        assert [(r["account"], r["follower"]) for r in actual["followers"]] == [("sharon", "ameena")]
    finally:
        richness("down", "--data-dir", data_dir, check=False)
