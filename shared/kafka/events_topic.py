"""Writing validated events to the events topic, packed per partition (see shared.topics)."""
from __future__ import annotations

import asyncio
from typing import Iterable

from aiokafka import AIOKafkaProducer

from shared.events import Event
from shared.topics import event_batches


async def produce_events(producer: AIOKafkaProducer, topic: str, events: Iterable[Event]) -> list[asyncio.Future]:
    """Enqueue the events (one record per partition and 500 events); return the deliveries.

    The partition count comes from the producer's metadata, so the events land where their
    routing keys say, whatever the topic was created with.
    """
    partitions = len(await producer.partitions_for(topic))
    return [await producer.send(topic, value, partition=partition)
            for partition, value in event_batches(events, partitions)]
