"""The event log as the ingest API sees it: append validated events, durably, or fail clearly."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.config import Settings
from shared.events import Event
from shared.kafka.compat import producer_options
from shared.topics import event_batches

log = logging.getLogger(__name__)

# Records hold up to 500 events (~100 KiB). aiokafka keeps one open batch per partition and
# makes senders wait while it is full: with the default 16 KiB every record waits for the one
# before it to be acknowledged; 512 KiB batches several records per produce request.
THROUGHPUT_OPTIONS: dict[str, Any] = {"max_batch_size": 512 * 1024, "linger_ms": 2}


class EventLogUnavailable(RuntimeError):
    """The broker did not confirm the write in time; none of the events may be reported accepted."""


class EventLog:
    """A thin adapter over one aiokafka producer, shared by all requests of a process."""

    def __init__(self, settings: Settings) -> None:
        self._topic = settings.events_topic
        self._timeout_s = settings.produce_timeout_s
        self._options = {**producer_options(settings), **THROUGHPUT_OPTIONS}
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = AIOKafkaProducer(**self._options)
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def append(self, events: Sequence[Event]) -> None:
        """Return once the broker acknowledged every event (acks=all); else EventLogUnavailable.

        Events go out packed per partition (``shared.topics.event_batches``): a few records per
        request, each acknowledged by the broker, instead of one record per event.
        """
        if not events:
            return
        producer = self._require_started()
        deliveries: list[asyncio.Future] = []
        try:
            async with asyncio.timeout(self._timeout_s):
                partitions = len(await producer.partitions_for(self._topic))
                # Enqueue every record first so the producer can batch, then wait for all of them.
                for partition, value in event_batches(events, partitions):
                    deliveries.append(await producer.send(self._topic, value, partition=partition))
                outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
        except BaseException as exc:
            _abandon(deliveries)
            if isinstance(exc, TimeoutError):
                raise EventLogUnavailable(
                    f"no acknowledgement from the event log within {self._timeout_s:g} s") from None
            if isinstance(exc, KafkaError):
                raise EventLogUnavailable(f"the event log refused the write: {type(exc).__name__}") from exc
            raise
        failure = next((outcome for outcome in outcomes if isinstance(outcome, BaseException)), None)
        if failure is not None:
            raise EventLogUnavailable(f"the event log refused the write: {type(failure).__name__}") from failure

    async def ready(self) -> bool:
        """The broker answers a metadata request and knows the events topic."""
        producer = self._require_started()
        try:
            async with asyncio.timeout(min(self._timeout_s, 5.0)):
                metadata = await producer.client.fetch_all_metadata()
        except (TimeoutError, KafkaError) as exc:
            log.warning("event log not reachable: %s", type(exc).__name__)
            return False
        return bool(metadata.partitions_for_topic(self._topic))

    def _require_started(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("EventLog.start() was not called")
        return self._producer


def _abandon(deliveries: list[asyncio.Future]) -> None:
    """Nobody will look at these deliveries again: retrieve what failed, cancel what is pending
    (no "exception never retrieved" logs later; the records may still reach the broker, but the
    client was told nothing was accepted and will send them again)."""
    for delivery in deliveries:
        if not delivery.done():
            delivery.cancel()
        elif not delivery.cancelled():
            delivery.exception()
