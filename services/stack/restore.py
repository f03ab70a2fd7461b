"""Rebuilding the local event log from ClickHouse after ``richness up``.

The embedded broker keeps topics in memory, so after a down/up the event log is empty while
ClickHouse still holds every event. The processor's state (reply trees, follow histories) lives
in the event log's changelogs, so without its past events a new reply or follow would be placed
against empty state. Publishing the stored events again rebuilds that state before new events
arrive; every fact it re-derives equals the stored one (facts are a function of the event set,
with the same versions), so the views do not change.
"""
from __future__ import annotations

import asyncio
from typing import Callable

from aiokafka import AIOKafkaProducer
from clickhouse_connect.driver.client import Client

from shared.clickhouse.client import connect
from shared.config import Settings
from shared.events import Event
from shared.kafka import compat
from shared.kafka.admin import ensure_topics
from shared.kafka.event_log import send_events

COLUMNS = ("id", "type", "toUnixTimestamp64Milli(ts)", "actor", "target", "post_id", "parent_id", "root_id",
           "url", "toUnixTimestamp64Milli(received_at)")


def restore_event_log(settings: Settings, report: Callable[[int, int], None] = lambda done, total: None) -> int:
    """Publish every stored event to the (empty) events topic; return how many."""
    client = connect(settings)
    total = int(client.command(f"SELECT count() FROM {settings.clickhouse_database}.events_raw FINAL"))
    if total:
        asyncio.run(_publish(settings, client, total, report))
    return total


async def _publish(settings: Settings, client: Client, total: int, report: Callable[[int, int], None]) -> None:
    await ensure_topics(settings)
    producer = AIOKafkaProducer(**compat.producer_options(settings), max_batch_size=512 * 1024, linger_ms=5)
    await producer.start()
    done = 0
    try:
        query = f"SELECT {', '.join(COLUMNS)} FROM {settings.clickhouse_database}.events_raw FINAL"
        with client.query_row_block_stream(query) as blocks:
            for block in blocks:
                events = [Event(id=r[0], type=r[1], ts=r[2], actor=r[3], target=r[4], post_id=r[5],
                                parent_id=r[6], root_id=r[7], url=r[8], received_at=r[9]) for r in block]
                await asyncio.gather(*await send_events(producer, settings.events_topic, events))
                done += len(events)
                report(done, total)
    finally:
        await producer.stop()
