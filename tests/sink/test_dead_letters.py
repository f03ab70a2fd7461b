"""Records that can never be stored go to the dead-letter topic with the reason; the rest of the
batch is stored and committed."""
from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.sink import metrics
from services.sink.sink import Sink, SinkOptions, is_permanent
from shared.clickhouse.client import connect
from shared.clickhouse.schema import migrate
from shared.domain.rows import ThreadRow, encode_rows
from shared.events import Event
from shared.kafka import compat
from shared.kafka.admin import ensure_topics
from shared.kafka.events_topic import produce_events
from tests.conftest import settings_for

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


def dead_letter_count(reason: str) -> float:
    return metrics.DEAD_LETTERS.labels(reason)._value.get()


def test_poison_records_are_dead_lettered_and_the_rest_is_stored(broker, clickhouse):
    settings = settings_for(broker, clickhouse, clickhouse_database="sink_dead_letters", group_prefix="sink-dl")
    client = connect(settings)
    migrate(client, settings.clickhouse_database)
    good_row = ThreadRow("r1", "ann", 3, 2, 1, 1, 1_790_000_000_000, 1_790_000_000_000, 1, 0, 0, 7)
    bad_row = ThreadRow("r2", "bob", -1, 2, 1, 1, 1_790_000_000_000, 1_790_000_000_000, 1, 0, 0, 7)  # UInt64
    events = [Event(id=f"e{i}", type="post", ts=1_790_000_000_000, received_at=1_790_000_000_000,
                    actor="ann", post_id=f"p{i}") for i in range(20)]
    before = {reason: dead_letter_count(reason) for reason in ("undecodable", "rejected")}

    async def scenario():
        await ensure_topics(settings)
        producer = AIOKafkaProducer(**compat.producer_options(settings))
        await producer.start()
        await asyncio.gather(*await produce_events(producer, settings.events_topic, events))
        await producer.send_and_wait(settings.facts_topic, b"this is not a record of rows")
        await producer.send_and_wait(settings.facts_topic, encode_rows([good_row, bad_row]))
        await producer.stop()

        sink = Sink(settings, lambda: connect(settings), SinkOptions(max_wait_s=0.05))
        running = asyncio.create_task(sink.run())
        consumer = AIOKafkaConsumer(settings.dead_letter_topic, bootstrap_servers=settings.kafka_bootstrap,
                                    auto_offset_reset="earliest")
        await consumer.start()
        dead = []
        try:
            async with asyncio.timeout(60):
                while len(dead) < 2:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        dead.extend(records)
        finally:
            sink.stop()
            await consumer.stop()
            await running
        return dead

    dead = asyncio.run(scenario())
    reasons = sorted(dict(record.headers)["richness-error"].decode() for record in dead)
    assert reasons[0].startswith("rejected by ClickHouse: ") and reasons[1].startswith("undecodable record: "), reasons
    db = settings.clickhouse_database
    assert client.command(f"SELECT count() FROM {db}.events_raw") == 20
    assert client.query(f"SELECT root_id FROM {db}.thread_rows_by_owner").result_rows == [("r1",)]
    assert dead_letter_count("undecodable") == before["undecodable"] + 1
    assert dead_letter_count("rejected") == before["rejected"] + 1


def test_unavailable_clickhouse_is_not_permanent():
    from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

    assert not is_permanent(OperationalError("Error HTTPConnectionPool: connection refused"))
    assert not is_permanent(DatabaseError("Code: 241. DB::Exception: Memory limit exceeded"))
    assert is_permanent(DatabaseError("Code: 53. DB::Exception: Type mismatch"))
    assert is_permanent(DataError("Unable to create native array for column `depth`"))
