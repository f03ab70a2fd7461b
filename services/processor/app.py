"""The Faust apps of the two stages, each a thin adapter around one stage of rules, each run by
workers of its own (``python -m services.processor --stage events|accounts``):

* ``events`` reads the events topic (records of up to 500 events of one partition), applies the
  event rules (conversations, follow pairs, orders, shares and likes, clicks) and sends thread
  rows and account changes;
* ``accounts`` reads the account changes (partitioned by account) and sends the per-account
  rows (account days, follower ledger).

Two consumer groups, so that each stage scales and recovers on its own, and a worker's CPU goes
to one stage's rules. Each agent works in batches; for each batch, per partition: apply the rules on the committed
state (``batch``); send the outputs and WAIT until the broker confirmed them; write the state's
changes to the table's changelog with a commit marker and wait; then make them the local state;
then let Faust acknowledge the batch (it commits offsets after that). A crash at any point leaves
either nothing of the batch's state durable — the batch is processed again from the same state
and sends the same outputs with the same versions and sequence numbers — or all of it, with its
outputs already out. If anything fails the worker exits at once (code 70), because Faust would
otherwise acknowledge a batch whose processing raised.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import faust
import msgspec
from aiokafka.structs import TopicPartition
from faust.types import EventT

from services.processor import metrics
from services.processor.batch import Outcome, apply_changes, apply_events
from services.processor.faust_adapter import (bound_fetch_wait, changelog_tp, is_settling, patch_tansu_highwaters,
                                              store_url, table_store)
from services.processor.memory import release_free_memory
from services.processor.sequence import NEXT_OFFSET_KEY, InputGap, decode_offset, encode_offset, gaps
from services.processor.watchdog import STALLED_EXIT_CODE, BatchActivity, StallWatch, StopDeadline
from services.processor.writer import CHANGES_PER_RECORD, Writer, wait_all
from shared.config import Settings
from shared.domain.contributions import decode_changes, encode_changes
from shared.events import encode_event
from shared.kafka import compat
from shared.kafka.lag import group_position, partitions_of
from shared.topics import EVENTS_PER_RECORD, decode_event_batch, position

log = logging.getLogger("richness.processor")

# A batch is bounded in inputs, not records, so that its memory is (its decoded inputs, state and
# outputs are all in memory at once): up to 20,000 events (records of up to 500) or 10,000
# account changes (records of up to 2,000; each change touches more and larger entries than an
# event, and at 20,000 the account stage's peak RSS at 10^7 events was 298 MB against 251).
# 100 records of changes were 200,000 of them: twice the peak RSS at 10^6 events.
EVENTS_PER_BATCH = 20_000
CHANGES_PER_BATCH = 10_000
# Records taken ahead of the batch in work, in batches: enough to start the next batch at once,
# few enough that a long backlog costs no memory (each record is up to 512 KiB; 200 records
# were 12-20 MB of the peak RSS at 3x10^6 events, BENCHMARKS.md).
BUFFERED_BATCHES = 2
BATCH_WITHIN_S = 0.1
LAG_INTERVAL_S = 5.0  # the Pipeline health lag panel: fresh enough to see a drain end
# RocksDB per table partition: small caches, so that memory stays flat however large the state.
# Bloom filters of 10 bits per key: most lookups are of entries that do not exist yet.
ROCKSDB_OPTIONS = {"block_cache_size": 16 * 1024 * 1024, "write_buffer_size": 8 * 1024 * 1024,
                   "max_write_buffer_number": 2, "target_file_size_base": 32 * 1024 * 1024,
                   "bloom_filter_size": 10}


class Stage:
    """One agent's batch loop around one stage of rules."""

    def __init__(self, name: str, table: faust.Table, decode: Callable[[bytes], list],
                 apply: Callable[..., Outcome], encode_refused: Callable[[Any], bytes], writer: Writer,
                 first_stored: Callable[[int, int], Awaitable[int | None]]) -> None:
        self.name = name
        self.table = table
        self.decode = decode
        self.apply = apply
        self.encode_refused = encode_refused
        self.writer = writer
        # (partition, offset) -> offset of the first record at or after it that the input log holds
        self.first_stored = first_stored
        self.activity = BatchActivity()

    async def process(self, batch: list[EventT]) -> None:
        self.activity.started()
        try:
            await self._process(batch)
        finally:
            self.activity.finished()

    async def _process(self, batch: list[EventT]) -> None:
        started = time.perf_counter()
        store = table_store(self.table)
        records: dict[int, list[EventT]] = defaultdict(list)
        for event in batch:
            records[event.message.partition].append(event)
        outcomes: dict[int, Outcome] = {}
        refused: list[tuple[bytes, str, str]] = []
        next_offsets: dict[int, int] = {}
        for partition, in_partition in records.items():
            # Before anything is applied or sent: a record Faust dropped must be read again.
            next_offsets[partition] = await self._next_offset(store, partition, in_partition)
        for partition, in_partition in records.items():
            inputs = []
            for record in in_partition:
                message = record.message
                try:
                    items = self.decode(message.value)
                except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                    refused.append((message.value, f"undecodable record: {exc}", _source(message)))
                    metrics.DEAD_LETTERS.labels("undecodable").inc()
                    continue
                inputs.extend((position(message.offset, i), item) for i, item in enumerate(items))
            outcome = self.apply(lambda key, p=partition: store.read(p, key), partition, inputs)
            for item, why in outcome.refused:
                log.error("refusing an input of %s partition %d: %s", self.name, partition, why)
                refused.append((self.encode_refused(item), why, f"{self.name}/{partition}"))
                metrics.DEAD_LETTERS.labels("state_too_large").inc()
            outcome.writes[NEXT_OFFSET_KEY] = encode_offset(next_offsets[partition])
            outcomes[partition] = outcome
        t1 = time.perf_counter()
        # 1. outputs, confirmed before any state: a replay must find the state of before the batch
        changes = [item for o in outcomes.values() for out in o.outputs for item in out.changes]
        rows = [row for o in outcomes.values() for out in o.outputs for row in out.rows]
        sends = await self.writer.outputs(changes, rows, refused)
        t2 = time.perf_counter()
        await wait_all(sends)
        t3 = time.perf_counter()
        # 2. state: changelog records and commit marker per partition, then the local store
        topic = self.table.changelog_topic.get_topic_name()
        markers = await asyncio.gather(*(self.writer.changelog(topic, p, o.writes) for p, o in outcomes.items()))
        t4 = time.perf_counter()
        for (partition, outcome), marker in zip(outcomes.items(), markers):
            store.commit(partition, list(outcome.writes.items()), changelog_tp(self.table, partition), marker)
        release_free_memory()  # what the batch freed goes back to the system (see memory.py)
        t5 = time.perf_counter()
        log.debug("batch of %s: inputs=%d records=%d apply=%.3f send=%.3f ack=%.3f changelog=%.3f commit=%.3f writes=%d",
                 self.name, sum(o.inputs for o in outcomes.values()), len(batch), t1 - started, t2 - t1, t3 - t2,
                 t4 - t3, t5 - t4, sum(len(o.writes) for o in outcomes.values()))
        inputs = sum(o.inputs for o in outcomes.values())
        metrics.INPUTS.labels(self.name).inc(inputs)
        metrics.BATCH_SIZE.labels(self.name).observe(inputs)
        metrics.BATCH_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        metrics.STATE_WRITES.labels(self.name).inc(sum(len(o.writes) for o in outcomes.values()))
        metrics.CHANGES.inc(len(changes))
        for kind, count in Counter(type(row).__struct_config__.tag for row in rows).items():
            metrics.ROWS.labels(kind).inc(count)

    async def _next_offset(self, store, partition: int, in_partition: list[EventT]) -> int:
        """The partition's next expected input offset after this batch (see sequence.py). Raises
        ``InputGap`` if the log holds records that were skipped on the way here."""
        expected = decode_offset(store.read(partition, NEXT_OFFSET_KEY))
        after, found = gaps(expected, [record.message.offset for record in in_partition])
        for missing, got in found:
            first = await self.first_stored(partition, missing)
            if first is None or first < got:
                raise InputGap(partition, missing, got)
            log.warning("%s partition %d: offsets %d..%d hold no record (deleted by retention, or never stored "
                        "by a failed produce); going on from %d", self.name, partition, missing, got - 1, got)
            metrics.SKIPPED_OFFSETS.labels(self.name).inc(got - missing)
        return after


# Stopping waits for the consumer to commit. After Faust's consumer thread crashed (seen: an
# offset commit failing while the local broker's storage restarted) that wait never ends, and
# the worker would stay alive and idle, so nothing would restart it. Past this, it exits.
STOP_DEADLINE_S = 30.0
FAILED_EXIT_CODE = 70  # EX_SOFTWARE: a batch failed, or stopping hung; the supervisor restarts it


class RichnessApp(faust.App):
    async def on_stop(self) -> None:
        def give_up() -> None:
            _exit_now(FAILED_EXIT_CODE, "stopping took longer than %.0f s (the consumer cannot commit); "
                      "exiting to be restarted", STOP_DEADLINE_S)

        with StopDeadline(STOP_DEADLINE_S, give_up):
            await super().on_stop()


@dataclass(frozen=True)
class StageSpec:
    """What distinguishes the two workers: their input, state table, rules and consumer group."""

    name: str
    table: str
    topic: Callable[[Settings], str]
    group: Callable[[Settings], str]
    decode: Callable[[bytes], list]
    apply: Callable[..., Outcome]
    encode_refused: Callable[[Any], bytes]
    per_record: int  # inputs per record, at most
    batch_inputs: int  # inputs per batch, at most (whole records: a multiple of per_record)

    @property
    def batch_records(self) -> int:
        return self.batch_inputs // self.per_record


STAGES = {
    "events": StageSpec("events", "events-state", lambda s: s.events_topic, lambda s: s.processor_group,
                        decode_event_batch, apply_events, encode_event, EVENTS_PER_RECORD, EVENTS_PER_BATCH),
    "accounts": StageSpec("accounts", "accounts-state", lambda s: s.changes_topic, lambda s: s.accounts_group,
                          decode_changes, apply_changes, lambda item: encode_changes([item]), CHANGES_PER_RECORD,
                          CHANGES_PER_BATCH),
}


def create_app(settings: Settings, stage: str = "events") -> faust.App:
    """The Faust app of one stage: ``events`` (the event rules) or ``accounts`` (the account
    rules). Each is a consumer group of its own, so each scales by its own workers."""
    spec = STAGES[stage]
    if settings.is_tansu:
        patch_tansu_highwaters(lambda tps: compat.end_offsets(settings, tps))
    bound_fetch_wait(compat.FETCH_MAX_WAIT_MS)
    app = RichnessApp(
        spec.group(settings),
        broker=f"kafka://{settings.kafka_bootstrap}",
        datadir=str(settings.state_dir),
        store=store_url(settings.state_store),  # per app: Faust ignores a per-table URL without a path
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=0.5,
        web_enabled=False,
        producer_acks=-1,
        stream_buffer_maxsize=BUFFERED_BATCHES * spec.batch_records,
        **compat.faust_options(settings),
    )
    topic = app.topic(spec.topic(settings), key_type=bytes, value_type=bytes, key_serializer="raw",
                      value_serializer="raw", partitions=settings.partitions)
    table = app.Table(spec.table, key_type=bytes, value_type=bytes, partitions=settings.partitions,
                      options=dict(ROCKSDB_OPTIONS))
    writer = Writer(settings)

    async def first_stored(partition: int, offset: int) -> int | None:
        return await compat.first_offset_from(settings, TopicPartition(spec.topic(settings), partition), offset)

    stage_worker = Stage(spec.name, table, spec.decode, spec.apply, spec.encode_refused, writer, first_stored)

    @app.agent(topic, name=spec.name)
    async def process(stream: faust.StreamT) -> None:
        try:
            async for batch in stream.take_events(spec.batch_records, within=BATCH_WITHIN_S):
                try:
                    await stage_worker.process(batch)
                except Exception:
                    # Faust acknowledges a taken batch even when its processing raised, and would
                    # then commit offsets whose effects were never stored. Stop hard instead: the
                    # batch is processed again after the restart.
                    _exit_now(FAILED_EXIT_CODE, "processing a batch of %s failed; exiting so that it is not committed",
                              spec.name, exc_info=True)
        finally:
            await writer.stop()

    watch = StallWatch(settings.processor_stall_s)

    @app.timer(interval=LAG_INTERVAL_S)
    async def report_lag() -> None:
        group = spec.group(settings)
        try:
            tps = await partitions_of(settings, [spec.topic(settings)])
            committed, lags = await group_position(settings, group, tps)
        except Exception as exc:  # noqa: BLE001 - a metric must never stop the processor
            log.warning("could not measure consumer lag: %s", exc)
            watch.reset()
            return
        for tp, lag in lags.items():
            metrics.LAG.labels(group, tp.topic, str(tp.partition)).set(lag)
        if is_settling(app) or stage_worker.activity.busy_since_last_asked():
            watch.reset()
        elif watch.is_stalled(time.monotonic(), committed, waiting := sum(lags.values())):
            _exit_now(STALLED_EXIT_CODE, "consumer group %s has had %d records waiting and committed nothing "
                      "for %.0f s; exiting (code %d) to be restarted", group, waiting, watch.timeout_s,
                      STALLED_EXIT_CODE)

    return app


def _exit_now(code: int, message: str, *args: Any, exc_info: bool = False) -> None:
    """Log why, flush the log, and leave without Faust's shutdown (which would commit offsets)."""
    log.critical(message, *args, exc_info=exc_info)
    logging.shutdown()
    os._exit(code)


def _source(message) -> str:
    return f"{message.topic}/{message.partition}/{message.offset}"
