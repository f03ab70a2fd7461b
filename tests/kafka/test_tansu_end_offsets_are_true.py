"""Regression: the local broker (Tansu) misreports log-end offsets after batched produces.

ListOffsets(LATEST) answers "base offset of the last batch + 1". Anything that compares a
consumer's position with it (lag, `richness drain`, Faust's table recovery) would believe it is
caught up while records are still unread. ``compat.end_offsets`` reads the true end from a Fetch.
"""
import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from shared.kafka import compat
from shared.kafka.admin import ensure_topics

pytestmark = pytest.mark.broker


async def _produce_batched(settings, n):
    producer = AIOKafkaProducer(**compat.producer_options(settings), linger_ms=50)
    await producer.start()
    try:
        futures = [await producer.send(settings.events_topic, b"x", partition=0) for _ in range(n)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def test_listed_end_offset_is_wrong_and_compat_is_right(kafka_settings):
    tp = TopicPartition(kafka_settings.events_topic, 0)

    async def scenario():
        await ensure_topics(kafka_settings)
        await _produce_batched(kafka_settings, 500)
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_settings.kafka_bootstrap)
        await consumer.start()
        try:
            listed = (await consumer.end_offsets([tp]))[tp]
        finally:
            await consumer.stop()
        corrected = (await compat.end_offsets(kafka_settings, [tp]))[tp]
        return listed, corrected

    listed, corrected = asyncio.run(scenario())
    assert listed < 500, "the broker no longer misreports end offsets: the work-around can go"
    assert corrected == 500


def test_lag_from_compat_end_offsets_sees_unread_records(kafka_settings):
    """A drain check that trusted ListOffsets would declare 'caught up' after one record."""
    tp = TopicPartition(kafka_settings.events_topic, 0)

    async def scenario():
        await ensure_topics(kafka_settings)
        await _produce_batched(kafka_settings, 300)
        end = (await compat.end_offsets(kafka_settings, [tp]))[tp]
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_settings.kafka_bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign([tp])
            consumer.seek(tp, 0)
            read = 0
            async with asyncio.timeout(30):
                while await consumer.position(tp) < end:
                    read += sum(len(v) for v in (await consumer.getmany(timeout_ms=500)).values())
            return read

        finally:
            await consumer.stop()

    assert asyncio.run(scenario()) == 300


def test_kafka_profile_keeps_normal_paths():
    from shared.config import Settings

    kafka = Settings(kafka_compat="kafka")
    assert compat.producer_options(kafka)["enable_idempotence"] is True
    assert compat.producer_options(kafka)["acks"] == "all"
    tansu = Settings(kafka_compat="tansu")
    assert "enable_idempotence" not in compat.producer_options(tansu)
    assert compat.group_options(tansu)["session_timeout_ms"] == 6000


def test_group_members_bound_their_fetch_wait_on_both_brokers():
    # aiokafka's default (500 ms) held records of other partitions back while a fetch waited on
    # an idle one: the sink's polls came back empty with the topic still full (BENCHMARKS.md).
    from shared.config import Settings

    for profile in ("kafka", "tansu"):
        options = compat.group_options(Settings(kafka_compat=profile))
        assert options["fetch_max_wait_ms"] == compat.FETCH_MAX_WAIT_MS <= 100
