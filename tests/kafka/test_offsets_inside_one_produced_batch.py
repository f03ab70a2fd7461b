"""A changelog batch is produced as one record batch (``Writer.changelog``): the end that table
recovery reads to is the end of that batch, and a fetch that starts inside it finds its records
(``compat.first_offset_from``, which the processor asks when its input skips offsets)."""
import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition

from shared.kafka import compat
from shared.kafka.admin import ensure_topics

pytestmark = pytest.mark.broker


async def _produce_one_batch(settings, count: int, batches: int) -> None:
    producer = AIOKafkaProducer(**compat.producer_options(settings))
    await producer.start()
    try:
        for _ in range(batches):
            builder = producer.create_batch()
            for i in range(count):
                assert builder.append(key=b"k%d" % i, value=b"v" * 100, timestamp=None) is not None
            await (await producer.send_batch(builder, settings.events_topic, partition=0))
    finally:
        await producer.stop()


@pytest.mark.parametrize("batches", [1, 3])
def test_the_end_is_after_the_last_record_of_the_last_batch(kafka_settings, batches):
    tp = TopicPartition(kafka_settings.events_topic, 0)

    async def scenario():
        await ensure_topics(kafka_settings)
        await _produce_one_batch(kafka_settings, 40, batches)
        return (await compat.end_offsets(kafka_settings, [tp]))[tp]

    assert asyncio.run(scenario()) == 40 * batches


def test_first_offset_from_finds_the_record_or_none(kafka_settings):
    tp = TopicPartition(kafka_settings.events_topic, 0)

    async def scenario():
        await ensure_topics(kafka_settings)
        await _produce_one_batch(kafka_settings, 40, 1)
        return [await compat.first_offset_from(kafka_settings, tp, at) for at in (0, 17, 39, 40)]

    assert asyncio.run(scenario()) == [0, 17, 39, None]
