"""What the processor writes to Kafka, through its own aiokafka producer (public API only).

* outputs: account changes (``changes`` topic, partitioned by account like events by key),
  rows (``facts`` topic), refused inputs (dead-letter topic) — packed records, each far below the
  broker's record limit;
* changelog: a batch's state entries, one record per entry (so that a compacted changelog keeps
  one per key), tagged with the batch id, and the marker record that commits them (see
  ``faust_adapter``). Entries go out in producer batches, which costs a few microseconds each.
"""
from __future__ import annotations

import asyncio
import secrets
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from services.processor.faust_adapter import BATCH_HEADER, MARKER_KEY
from shared.config import Settings
from shared.domain.contributions import Sequenced, encode_changes
from shared.domain.rows import Row, encode_rows
from shared.kafka import compat
from shared.topics import account_key, pack, partition_for

CHANGES_PER_RECORD = 2000
ROWS_PER_RECORD = 2000
PRODUCER_BATCH_BYTES = 512 * 1024


class Writer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(**compat.producer_options(self.settings), linger_ms=5,
                                            max_batch_size=PRODUCER_BATCH_BYTES)
                await producer.start()
                self._producer = producer
        return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def outputs(self, changes: list[Sequenced], rows: list[Row],
                      refused: list[tuple[bytes, str, str]]) -> list[asyncio.Future]:
        """Enqueue the outputs; return their deliveries. ``refused``: (value, why, source)."""
        producer = await self.producer()
        pending = []
        by_partition: dict[int, list[Sequenced]] = defaultdict(list)
        for item in changes:
            by_partition[partition_for(account_key(item.account), self.settings.partitions)].append(item)
        for partition, items in by_partition.items():
            for record in pack(items, encode_changes, CHANGES_PER_RECORD):
                pending.append(await producer.send(self.settings.changes_topic, record, partition=partition))
        for record in pack(rows, encode_rows, ROWS_PER_RECORD):
            pending.append(await producer.send(self.settings.facts_topic, record))
        for value, why, source in refused:
            pending.append(await producer.send(self.settings.dead_letter_topic, value, headers=[
                ("richness-error", why.encode()[:1000]), ("richness-source", source.encode())]))
        return pending

    async def changelog(self, topic: str, partition: int, writes: dict[bytes, bytes]) -> int:
        """Write a batch's entries and then its marker to one changelog partition; wait until all
        are acknowledged; return the marker's offset."""
        producer = await self.producer()
        batch_id = secrets.token_bytes(8)
        headers = [(BATCH_HEADER, batch_id)]
        pending: list[asyncio.Future] = []
        builder = producer.create_batch()
        items: list[tuple[bytes, bytes]] = [*writes.items(), (MARKER_KEY, batch_id)]
        for key, value in items:
            if builder.append(key=key, value=value, timestamp=None, headers=headers) is None:
                pending.append(await producer.send_batch(builder, topic, partition=partition))
                builder = producer.create_batch()
                if builder.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    raise ValueError(f"a changelog record of {len(value)} bytes does not fit a producer batch")
        last = await producer.send_batch(builder, topic, partition=partition)
        await asyncio.gather(*pending)
        metadata: RecordMetadata = await last
        return metadata.offset + builder.record_count() - 1


async def wait_all(futures: list[Any]) -> None:
    """Wait until the broker has confirmed every one (raises if any failed)."""
    if futures:
        await asyncio.gather(*futures)
