"""The event log as the ingest API sees it: append validated events, durably, or fail clearly."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.config import Settings
from shared.events import Event, encode_event
from shared.kafka.compat import producer_options
from shared.topics import routing_key

log = logging.getLogger(__name__)

# Ingest sends requests of up to 10,000 events: large batches keep the number of produce
# requests (each acknowledged by all replicas) small. aiokafka holds one open batch per
# partition and makes senders wait while it is full, so the default 16 KiB is a bottleneck.
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
        """Return once the broker acknowledged every event (acks=all); else EventLogUnavailable."""
        if not events:
            return
        producer = self._require_started()
        send, topic = producer.send, self._topic
        try:
            async with asyncio.timeout(self._timeout_s):
                # Enqueue everything first so the producer can batch, then wait for all deliveries.
                deliveries = [await send(topic, encode_event(event), key=routing_key(event)) for event in events]
                # return_exceptions: every failed delivery is collected here, not logged as unretrieved.
                outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
        except TimeoutError:
            raise EventLogUnavailable(f"no acknowledgement from the event log within {self._timeout_s:g} s") from None
        except KafkaError as exc:
            raise EventLogUnavailable(f"the event log refused the write: {type(exc).__name__}") from exc
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise EventLogUnavailable(f"the event log refused the write: {type(outcome).__name__}") from outcome

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
