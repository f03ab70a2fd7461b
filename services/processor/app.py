"""The Faust app: one agent over the events topic, two tables of state, facts out.

The agent is a thin adapter around ``batch.apply_batch``: it takes events in batches, decodes
them with msgspec, applies them per partition (so each table change is written to the changelog
partition of the events it came from) and publishes the resulting facts, many per record, to the
facts topic. Faust commits the events' offsets only after the facts and the table changelog
records are flushed (at-least-once); every fact carries a version, so replays are harmless.
"""
from __future__ import annotations

import logging
import time
import weakref
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

import faust
import msgspec
from faust.streams import _current_event  # noqa: PLC2701 - see partition_of below
from faust.types import EventT

from services.processor import metrics
from services.processor.batch import apply_batch
from shared.config import Settings
from shared.domain.facts import Fact
from shared.events import Event, decode_event
from shared.kafka import compat

log = logging.getLogger("richness.processor")

BATCH_MAX = 5000
BATCH_WITHIN_S = 0.1
FACTS_PER_RECORD = 2000  # keeps each facts record well below Kafka's 1 MB default

_encode_facts = msgspec.json.Encoder().encode


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
        **compat.faust_options(settings),
    )
    events = app.topic(settings.events_topic, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw", partitions=settings.partitions)
    facts = app.topic(settings.facts_topic, value_type=bytes, value_serializer="raw")
    dead_letters = app.topic(settings.dead_letter_topic, value_type=bytes, value_serializer="raw")
    # bytes keys and values: Faust stores them raw; the domain states serialise themselves.
    conversations = app.Table("conversations", key_type=bytes, value_type=bytes, partitions=settings.partitions)
    pairs = app.Table("pairs", key_type=bytes, value_type=bytes, partitions=settings.partitions)

    @app.agent(events)
    async def derive_facts(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            started = time.perf_counter()
            by_partition: dict[int, list[EventT]] = defaultdict(list)
            for event in batch:
                by_partition[event.message.partition].append(event)
            produced: list[Fact] = []
            for partition_events in by_partition.values():
                decoded = []
                for event in partition_events:
                    try:
                        decoded.append(decode_event(event.value))
                    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                        await _dead_letter(dead_letters, event, f"undecodable event: {exc}")
                with partition_of(partition_events[-1]):
                    produced.extend(apply_batch(decoded, conversations, pairs))
            for start in range(0, len(produced), FACTS_PER_RECORD):
                await facts.send(value=_encode_facts(produced[start:start + FACTS_PER_RECORD]))
            metrics.EVENTS.labels("derive_facts").inc(len(batch))
            metrics.BATCH_SIZE.observe(len(batch))
            metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
            for fact in produced:
                metrics.FACTS.labels(type(fact).__struct_config__.tag).inc()

    app.derive_facts = derive_facts  # type: ignore[attr-defined]
    return app


@contextmanager
def partition_of(event: EventT) -> Iterator[None]:
    """Make ``event`` Faust's current event while tables are written.

    Faust routes a table write to the changelog partition of the current event. In a batch taken
    from several partitions the current event is simply the last one taken, so without this a
    state change could be logged to another partition and recovered by the wrong worker.
    """
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


async def _dead_letter(topic: faust.TopicT, event: EventT, reason: str) -> None:
    message = event.message
    log.error("dead-lettering record %s[%d]@%d: %s", message.topic, message.partition, message.offset, reason)
    metrics.DEAD_LETTERS.labels("undecodable").inc()
    await topic.send(value=event.value, headers={
        "richness-error": reason.encode()[:1000],
        "richness-source": f"{message.topic}/{message.partition}/{message.offset}".encode(),
    })
