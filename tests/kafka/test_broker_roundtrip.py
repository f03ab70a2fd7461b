"""The local broker accepts a topic, a produce and a consumer-group consume."""
import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.kafka import compat
from shared.kafka.admin import ensure_topics, project_topics

pytestmark = pytest.mark.broker


def test_topics_produce_and_group_consume(kafka_settings):
    async def scenario():
        created = await ensure_topics(kafka_settings)
        assert set(created) == {t.name for t in project_topics(kafka_settings)}
        assert await ensure_topics(kafka_settings) == []  # idempotent

        producer = AIOKafkaProducer(**compat.producer_options(kafka_settings))
        await producer.start()
        try:
            for i in range(50):
                await producer.send_and_wait(kafka_settings.events_topic, f"v{i}".encode(), key=f"k{i % 7}".encode())
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(kafka_settings.events_topic, bootstrap_servers=kafka_settings.kafka_bootstrap,
                                    group_id="roundtrip", auto_offset_reset="earliest", enable_auto_commit=False,
                                    **compat.group_options(kafka_settings))
        await consumer.start()
        try:
            seen = []
            async with asyncio.timeout(30):
                while len(seen) < 50:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        seen.extend(r.value for r in records)
            await consumer.commit()
        finally:
            await consumer.stop()
        assert sorted(seen) == sorted(f"v{i}".encode() for i in range(50))

    asyncio.run(scenario())
