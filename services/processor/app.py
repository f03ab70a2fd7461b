"""The Faust app: one agent over the events topic, two tables of state, facts out.

The agent is a thin adapter around ``batch.apply_batch``. It takes records in batches (each record
holds up to 500 events of one partition), applies them per partition, and then writes, for that
batch, ONE changelog record per changed state key to the partition the events came from, and the
derived facts, many per record, to the facts topic. It waits for the broker to confirm all of it
before it lets Faust acknowledge the batch; Faust commits acknowledged offsets only after flushing
its producer. So a crash anywhere replays events whose effects may or may not be stored, and every
effect is idempotent (versioned facts, id-deduplicated states): at-least-once, exact results.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter, defaultdict
from typing import Iterator, MutableMapping

import faust
import msgspec
from faust.types import EventT

from services.processor import metrics
from services.processor.batch import apply_batch
from shared.config import Settings
from shared.domain.facts import Fact
from shared.events import Event
from shared.kafka import compat
from shared.kafka.lag import group_lag, partitions_of
from shared.topics import decode_event_batch

log = logging.getLogger("richness.processor")

BATCH_MAX = 100  # records, each an event batch of up to EVENTS_PER_RECORD events
BATCH_WITHIN_S = 0.1
LAG_INTERVAL_S = 10.0
FACTS_PER_RECORD = 2000  # keeps each facts record well below Kafka's 1 MB default

_encode_facts = msgspec.json.Encoder().encode


class ChangelogBuffer(MutableMapping[bytes, bytes]):
    """A Faust table's store, read and written directly; changed keys are remembered.

    Writing ``table[key] = value`` sends one changelog record through Faust's per-key send path
    (tens of microseconds each, the processor's main cost when measured) and picks the changelog
    partition from "the current event", which in a multi-partition batch is the wrong one. The
    buffer writes the store and then sends each changed key once, to the partition given.
    """

    def __init__(self, table: faust.Table) -> None:
        self.table = table
        self.changed: dict[bytes, bytes] = {}

    def __getitem__(self, key: bytes) -> bytes:
        return self.table.data[key]

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        return self.table.data.get(key, default)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.table.data[key] = value
        self.changed[key] = value

    def __delitem__(self, key: bytes) -> None:
        raise NotImplementedError("processor state is never deleted")

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.table.data)

    def __len__(self) -> int:
        return len(self.table.data)

    async def send_changes(self, producer, partition: int) -> list[asyncio.Future]:
        topic = self.table.changelog_topic.get_topic_name()
        pending = [await producer.send(topic, key, value, partition, None, None)
                   for key, value in self.changed.items()]
        self.changed.clear()
        return pending


def create_app(settings: Settings) -> faust.App:
    compat.patch_faust(settings)
    app = faust.App(
        settings.processor_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=0.5,
        web_enabled=False,
        producer_acks=-1,
        producer_linger_ms=5,
        producer_max_batch_size=512 * 1024,
        stream_buffer_maxsize=1000,
        **compat.faust_options(settings),
    )
    events = app.topic(settings.events_topic, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw", partitions=settings.partitions)
    # bytes keys and values: Faust stores them raw; the domain states serialise themselves.
    conversations = app.Table("conversations", key_type=bytes, value_type=bytes, partitions=settings.partitions)
    pairs = app.Table("pairs", key_type=bytes, value_type=bytes, partitions=settings.partitions)

    @app.agent(events)
    async def derive_facts(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            try:
                await _process(app, settings, batch, ChangelogBuffer(conversations), ChangelogBuffer(pairs))
            except BaseException:
                # Faust acknowledges a taken batch even when its processing raised, and would
                # then commit offsets whose effects were never stored. Stop hard instead: the
                # batch is replayed after restart (Docker's restart policy, or `richness up`).
                log.critical("processing a batch failed; exiting so that it is not committed", exc_info=True)
                logging.shutdown()
                os._exit(70)

    @app.timer(interval=LAG_INTERVAL_S)
    async def report_lag() -> None:
        try:
            tps = await partitions_of(settings, [settings.events_topic])
            for tp, lag in (await group_lag(settings, settings.processor_group, tps)).items():
                metrics.LAG.labels(settings.processor_group, tp.topic, str(tp.partition)).set(lag)
        except Exception as exc:  # noqa: BLE001 - a metric must never stop the processor
            log.warning("could not measure consumer lag: %s", exc)

    app.derive_facts = derive_facts  # type: ignore[attr-defined]
    return app


async def _process(app: faust.App, settings: Settings, batch: list[EventT],
                   conversations: ChangelogBuffer, pairs: ChangelogBuffer) -> None:
    started = time.perf_counter()
    producer = app.producer
    by_partition: dict[int, list[EventT]] = defaultdict(list)
    for event in batch:
        by_partition[event.message.partition].append(event)
    produced: list[Fact] = []
    pending: list[asyncio.Future] = []
    events_in_batch = 0
    for partition, records in by_partition.items():
        decoded: list[Event] = []
        for record in records:
            try:
                decoded.extend(decode_event_batch(record.value))
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                pending.append(await _dead_letter(producer, settings, record, f"undecodable event batch: {exc}"))
        events_in_batch += len(decoded)
        produced.extend(apply_batch(decoded, conversations, pairs))
        pending += await conversations.send_changes(producer, partition)
        pending += await pairs.send_changes(producer, partition)
    for start in range(0, len(produced), FACTS_PER_RECORD):
        chunk = _encode_facts(produced[start:start + FACTS_PER_RECORD])
        pending.append(await producer.send(settings.facts_topic, None, chunk, None, None, None))
    await asyncio.gather(*pending)  # raises if the broker did not take any of it
    metrics.EVENTS.labels("derive_facts").inc(events_in_batch)
    metrics.BATCH_SIZE.observe(events_in_batch)
    metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
    for kind, count in Counter(type(fact).__struct_config__.tag for fact in produced).items():
        metrics.FACTS.labels(kind).inc(count)


async def _dead_letter(producer, settings: Settings, record: EventT, reason: str) -> asyncio.Future:
    message = record.message
    log.error("dead-lettering record %s[%d]@%d: %s", message.topic, message.partition, message.offset, reason)
    metrics.DEAD_LETTERS.labels("undecodable").inc()
    headers = [("richness-error", reason.encode()[:1000]),
               ("richness-source", f"{message.topic}/{message.partition}/{message.offset}".encode())]
    return await producer.send(settings.dead_letter_topic, None, record.value, None, None, headers)
