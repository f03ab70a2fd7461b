"""How much of what the ingest API accepted is not in ClickHouse yet (``richness down`` asks
before it stops a stack whose event log is in memory)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from shared.config import Settings
from shared.kafka import compat
from shared.kafka.lag import committed_offsets, group_lag, partitions_of
from shared.topics import decode_event_batch


@dataclass
class Unsaved:
    events: int  # accepted events the sink has not stored, or the processor not processed, yet
    fact_records: int  # records of derived facts (or account changes) not stored yet


async def unsaved(settings: Settings) -> Unsaved:
    events = await partitions_of(settings, [settings.events_topic])
    ends = await compat.end_offsets(settings, events)
    sink = await committed_offsets(settings, settings.sink_group, events)
    processor = await committed_offsets(settings, settings.processor_group, events)
    # An event is safe once the sink stored it AND the processor derived its facts.
    ranges = {tp: (min(sink[tp], processor[tp]), ends[tp]) for tp in events if min(sink[tp], processor[tp]) < ends[tp]}
    facts = await partitions_of(settings, [settings.facts_topic])
    fact_records = sum((await group_lag(settings, settings.sink_group, facts)).values())
    changes = await partitions_of(settings, [settings.changes_topic])
    fact_records += sum((await group_lag(settings, settings.accounts_group, changes)).values())
    return Unsaved(await _count_events(settings, ranges), fact_records)



async def _count_events(settings: Settings, ranges: dict[TopicPartition, tuple[int, int]],
                        timeout_s: float = 60.0) -> int:
    """Events in the records [start, end) of each partition (records hold batches of events)."""
    if not ranges:
        return 0
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                fetch_max_wait_ms=compat.FETCH_MAX_WAIT_MS)
    await consumer.start()
    try:
        consumer.assign(list(ranges))
        for tp, (start, _) in ranges.items():
            consumer.seek(tp, start)
        remaining = set(ranges)
        count = 0
        deadline = asyncio.get_running_loop().time() + timeout_s
        while remaining:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"could not read the unsaved records of {sorted(map(str, remaining))}")
            for tp, records in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                end = ranges[tp][1]
                count += sum(len(decode_event_batch(r.value)) for r in records if r.offset < end)
                if records and records[-1].offset + 1 >= end:
                    remaining.discard(tp)
        return count
    finally:
        await consumer.stop()
