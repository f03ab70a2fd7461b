"""Batches from Kafka into ClickHouse: size- and time-bounded, retried, dead-lettered.

The loop: collect records until ``max_batch_bytes`` or ``max_wait_s``; turn them into rows; insert
each table's rows; only then commit the offsets. A crash anywhere before the commit replays the
batch, which the ReplacingMergeTree tables absorb. ClickHouse being down is transient: the same
batch is retried with capped, jittered exponential backoff while nothing is committed. A record that can
never be stored (it does not decode, or ClickHouse rejects a row for what it is) goes to the
dead-letter topic with the reason and its source, and is then committed like the rest.
"""
from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Callable

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, ProgrammingError
from clickhouse_connect.driver.insert import InsertContext

from services.sink import metrics
from services.sink.rows import Batch, Columns
from shared.config import Settings
from shared.kafka import compat
from shared.topics import MAX_RECORD_BYTES

log = logging.getLogger("richness.sink")

# ClickHouse error codes that mean "this row is wrong", never "try again later".
PERMANENT_CODES = {6, 26, 27, 32, 38, 41, 43, 53, 69, 70, 72, 117, 130, 131, 321, 386}
_CODE = re.compile(r"Code: (\d+)")


def is_permanent(exc: Exception) -> bool:
    """A row-level problem (retrying cannot help), as opposed to ClickHouse being unavailable."""
    if isinstance(exc, (DataError, ProgrammingError)):  # the client could not even encode the rows
        return True
    match = _CODE.search(str(exc))
    return isinstance(exc, DatabaseError) and match is not None and int(match.group(1)) in PERMANENT_CODES


@dataclass
class SinkOptions:
    # Bytes, not records, bound a batch: one record holds up to 500 events or 2,000 facts.
    # 16 MiB is roughly 80,000 events' rows.
    max_batch_bytes: int = 16 * 1024 * 1024
    max_wait_s: float = 0.25
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 10.0


class Sink:
    def __init__(self, settings: Settings, client_factory: Callable[[], Client], options: SinkOptions | None = None):
        self.settings = settings
        self.options = options or SinkOptions()
        self._client_factory = client_factory
        self._client: Client | None = None
        self._contexts: dict[str, InsertContext] = {}  # of ``_client``
        self._stopping = asyncio.Event()
        self.database = settings.clickhouse_database
        self._stored: dict[TopicPartition, int] = {}

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            self.settings.events_topic, self.settings.facts_topic,
            bootstrap_servers=self.settings.kafka_bootstrap, group_id=self.settings.sink_group,
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_poll_records=500, **compat.group_options(self.settings))
        producer = AIOKafkaProducer(**compat.producer_options(self.settings))
        await consumer.start()
        await producer.start()
        log.info("sink consuming %s and %s into %s", self.settings.events_topic, self.settings.facts_topic,
                 self.database)
        # One batch is decoded while the previous one is inserted (its insert waits on ClickHouse
        # in a thread); commits stay in order, and a batch retrying against a ClickHouse that is
        # down holds the next one back.
        storing: asyncio.Task | None = None
        try:
            while not self._stopping.is_set():
                records = await self._collect(consumer)
                if not records:
                    continue
                batch = await self._decode(records, producer)
                if storing is not None:
                    await storing
                storing = asyncio.create_task(self._store_and_commit(batch, records, consumer, producer))
            if storing is not None:
                await storing
        finally:
            if storing is not None and not storing.done():
                storing.cancel()
            await consumer.stop()
            await producer.stop()

    async def _collect(self, consumer: AIOKafkaConsumer) -> list[ConsumerRecord]:
        records: list[ConsumerRecord] = []
        size = 0
        deadline = None
        while size < self.options.max_batch_bytes and not self._stopping.is_set():
            timeout = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
            if deadline is not None and timeout == 0:
                break
            # At most what the batch still has room for (records are at most MAX_RECORD_BYTES):
            # unbounded, one call returns up to 500 records (~250 MB of facts when behind).
            room = max(1, (self.options.max_batch_bytes - size) // MAX_RECORD_BYTES)
            fetched = await consumer.getmany(timeout_ms=int(timeout * 1000), max_records=room)
            for batch in fetched.values():
                records.extend(batch)
                size += sum(len(record.value) for record in batch)
            if records and deadline is None:
                deadline = time.monotonic() + self.options.max_wait_s
            if not fetched and deadline is None:
                break  # idle: let the caller check for stop
        return records

    async def _decode(self, records: list[ConsumerRecord], producer: AIOKafkaProducer) -> Batch:
        batch = Batch()
        for record in records:
            try:
                if record.topic == self.settings.events_topic:
                    batch.add_events(record.value)
                else:
                    batch.add_facts(record.value)
            except (msgspec.DecodeError, msgspec.ValidationError, TypeError) as exc:
                await self._dead_letter(producer, record.value, f"undecodable record: {exc}",
                                        f"{record.topic}/{record.partition}/{record.offset}", "undecodable")
        return batch

    async def _store_and_commit(self, batch: Batch, records: list[ConsumerRecord], consumer: AIOKafkaConsumer,
                                producer: AIOKafkaProducer) -> None:
        metrics.BATCH_ROWS.observe(len(batch))
        for table, columns in batch.tables.items():
            if len(columns):
                await self._insert_all(table, columns, producer)
        await self._commit(consumer, records)
        self._report_lag(consumer)

    async def _insert_all(self, table: str, columns: Columns, producer: AIOKafkaProducer) -> None:
        """Insert rows; bisect a permanently rejected batch down to the rows that cause it."""
        try:
            await self._insert_with_retry(table, columns)
        except DatabaseError as exc:
            if len(columns) == 1:
                await self._dead_letter(producer, _row_json(table, columns.row(0)), f"rejected by ClickHouse: {exc}",
                                        table, "rejected")
                return
            middle = len(columns) // 2
            await self._insert_all(table, columns.take(0, middle), producer)
            await self._insert_all(table, columns.take(middle, len(columns)), producer)

    async def _insert_with_retry(self, table: str, columns: Columns) -> None:
        delay = self.options.backoff_initial_s
        while True:
            started = time.perf_counter()
            try:
                await asyncio.to_thread(self._insert, table, columns)
            except Exception as exc:  # noqa: BLE001 - classified below
                if is_permanent(exc):
                    raise
                metrics.RETRIES.labels(table).inc()
                # Jittered, so that the workers of a group do not all retry a recovering server at once.
                wait = delay * random.uniform(0.5, 1.0)
                log.warning("insert into %s failed (%s); retrying in %.1f s", table, _first_line(exc), wait)
                self._client = None  # reconnect: the server may have restarted
                await asyncio.sleep(wait)
                delay = min(delay * 2, self.options.backoff_max_s)
                continue
            metrics.INSERT_SECONDS.labels(table).observe(time.perf_counter() - started)
            metrics.ROWS.labels(table).inc(len(columns))
            return

    def _insert(self, table: str, columns: Columns) -> None:
        if self._client is None:
            self._client = self._client_factory()
            self._contexts = {}
        # One insert context per table, reused: ``Client.insert`` builds a new one per call, which
        # sits in a reference cycle holding the whole batch until the cycle collector runs (rarely
        # here, see __main__) — at 10^7 events the sink grew to 10 GB. Reuse also saves the
        # column-type lookup each insert would make.
        context = self._contexts.get(table)
        if context is None:
            context = self._contexts[table] = self._client.create_insert_context(
                f"{self.database}.{table}", column_names=list(columns.names), column_oriented=True)
        context.data = columns.data
        try:
            self._client.data_insert(context)
        finally:
            context.data = None

    async def _dead_letter(self, producer: AIOKafkaProducer, value: bytes, reason: str, source: str, kind: str) -> None:
        log.error("dead-lettering a record from %s: %s", source, _first_line(reason))
        metrics.DEAD_LETTERS.labels(kind).inc()
        while True:
            try:
                await producer.send_and_wait(self.settings.dead_letter_topic, value, headers=[
                    ("richness-error", reason.encode()[:1000]), ("richness-source", source.encode())])
                return
            except KafkaError as exc:  # the record must not be committed unless it is kept somewhere
                log.warning("dead-letter topic unavailable (%s); retrying", exc)
                await asyncio.sleep(1)

    async def _commit(self, consumer: AIOKafkaConsumer, records: list[ConsumerRecord]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
        self._stored.update(offsets)
        try:
            await consumer.commit(offsets)
        except CommitFailedError as exc:
            # Partitions moved to another member during a long retry: it will store them again,
            # which the deduplicating tables absorb.
            log.warning("commit failed after a rebalance (%s); records will be replayed", exc)

    def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        # highwater comes from Fetch responses, which the local broker reports correctly.
        for tp, stored in self._stored.items():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                metrics.LAG.labels(self.settings.sink_group, tp.topic, str(tp.partition)).set(max(0, highwater - stored))


def _first_line(exc: object) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _row_json(table: str, row: dict) -> bytes:
    return msgspec.json.encode({"table": table, "row": {k: str(v) if v is not None else None for k, v in row.items()}})
