"""Every use of Faust beyond its documented API, in one place (see tests/processor/test_faust_adapter.py,
which fails loudly when a Faust upgrade moves any of it).

The processor uses Faust for what it is good at — consumer groups, partition assignment,
offset commits, table changelog topics, recovery and standbys — and keeps its state in Faust
tables whose stores are the two classes below, registered under Faust's store plugin namespace
(``faust.stores`` entry points in pyproject.toml): ``richness-rocksdb://`` (RocksDB through
rocksdict, on disk, the default) and ``richness-memory://`` (tests).

Why custom stores: one batch of events changes many small entries (shared.domain.state), and
the processor writes them to the table's changelog itself, as one unit per partition — data
records tagged with a batch id, then a marker record — only after the batch's outputs are
durable. A crash in the middle of a changelog write leaves records without a marker; recovery
must not apply them, or the restored state would hold half a batch. Faust's stores apply every
changelog record they read; these stores hold a batch's records back until its marker arrives
and drop those of a batch whose marker never came (its events are replayed). Locally, a
committed batch is written to RocksDB in one atomic write batch, with the changelog offset of
its marker as the table's persisted offset, so a restart reads only what came after it.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable, Iterable

from faust.stores import memory as faust_memory
from faust.stores import rocksdb as faust_rocksdb
from faust.types import TP, EventT

log = logging.getLogger("richness.processor")

BATCH_HEADER = "richness-batch"  # on every changelog record the processor writes
MARKER_KEY = b"\x00richness-batch-end"  # the record that commits a batch (its value: the batch id)


class AtomicBatches:
    """Recovery of marker-committed batches (mixed into both stores)."""

    def _pending(self) -> dict[int, list[tuple[bytes, bytes, bytes | None]]]:
        # partition -> [(batch id, key, value)], the records of a batch whose marker is not read yet
        if not hasattr(self, "_richness_pending"):
            self._richness_pending: dict[int, list[tuple[bytes, bytes, bytes | None]]] = defaultdict(list)
        return self._richness_pending

    def apply_changelog_batch(self, batch: Iterable[EventT], to_key: Callable[[Any], Any],
                              to_value: Callable[[Any], Any]) -> None:
        pending = self._pending()
        for event in batch:
            message = event.message
            headers = dict(message.headers or ())
            batch_id = headers.get(BATCH_HEADER)
            partition = message.partition
            if message.key == MARKER_KEY:
                complete = [(k, v) for b, k, v in pending.pop(partition, []) if b == message.value]
                self.write_batch(partition, complete)
                self.set_persisted_offset(message.tp, message.offset)
            elif batch_id is None:  # not written by the processor: apply as Faust would
                self.write_batch(partition, [(message.key, message.value)])
                self.set_persisted_offset(message.tp, message.offset)
            else:
                pending[partition].append((batch_id, message.key, message.value))

    def forget_unfinished(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            dropped = self._pending().pop(partition, None)
            if dropped:
                log.info("dropped %d changelog records of an unfinished batch of partition %d "
                         "(its events are processed again)", len(dropped), partition)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)  # type: ignore[misc]
        # What is still pending on an active partition belongs to a batch that never finished.
        self.forget_unfinished(tp.partition for tp in active_tps)

    async def on_rebalance(self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP],
                           generation_id: int = 0) -> None:
        self.forget_unfinished(tp.partition for tp in revoked)
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)  # type: ignore[misc]

    # --- what the processor uses ----------------------------------------------------------
    def read(self, partition: int, key: bytes) -> bytes | None:
        raise NotImplementedError

    def write_batch(self, partition: int, items: list[tuple[bytes, bytes | None]]) -> None:
        raise NotImplementedError

    def commit(self, partition: int, items: list[tuple[bytes, bytes]], changelog_tp: TP, marker_offset: int) -> None:
        """A batch whose changelog records and marker are durable: make it the local state."""
        self.write_batch(partition, items)
        self.set_persisted_offset(changelog_tp, marker_offset)


class RocksStore(AtomicBatches, faust_rocksdb.Store):
    """Faust's RocksDB store (one database per partition) with atomic batches. Reads go to
    RocksDB, whose block cache keeps the busy accounts', days' and pairs' blocks: an in-process
    cache of values in front of it held 20-30 MB more at peak and made no measurable difference
    in speed (BENCHMARKS.md)."""

    def read(self, partition: int, key: bytes) -> bytes | None:
        return self._db_for_partition(partition).get(key)

    def write_batch(self, partition: int, items: list[tuple[bytes, bytes | None]]) -> None:
        if not items:
            return
        batch = faust_rocksdb.rocksdict.WriteBatch(raw_mode=True)
        for key, value in items:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        self._db_for_partition(partition).write(batch)


class MemoryStore(AtomicBatches, faust_memory.Store):
    """Faust's in-memory store with atomic batches: rebuilt from the changelog on every start."""

    def read(self, partition: int, key: bytes) -> bytes | None:
        return self.data.get(key)

    def write_batch(self, partition: int, items: list[tuple[bytes, bytes | None]]) -> None:
        for key, value in items:
            if value is None:
                self.data.pop(key, None)
                self._key_partition.pop(key, None)
            else:
                self.data[key] = value
                self._key_partition[key] = partition

    def persisted_offset(self, tp: TP) -> int | None:
        return None  # memory holds nothing across restarts: always read the whole changelog

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        pass


def store_url(kind: str) -> str:
    """The Faust store URL of ``kind`` ("rocksdb" or "memory"): our entry-point names."""
    return {"rocksdb": "richness-rocksdb://", "memory": "richness-memory://"}[kind]


def table_store(table) -> AtomicBatches:
    """The store behind a Faust table (``Collection.data``)."""
    store = table.data
    if not isinstance(store, AtomicBatches):
        raise TypeError(f"table {table.name!r} is not backed by a richness store ({type(store).__name__}); "
                        "is the package installed (its faust.stores entry points)?")
    return store


def is_settling(app) -> bool:
    """Whether the worker is rebalancing or recovering table state: no progress is expected then
    (``AppT.rebalancing`` and ``AppT.in_recovery``, set by Faust's consumer and recovery)."""
    return bool(app.rebalancing or app.in_recovery)


def changelog_tp(table, partition: int) -> TP:
    return TP(table.changelog_topic.get_topic_name(), partition)


def patch_tansu_highwaters(end_offsets: Callable) -> None:
    """Make Faust's table recovery read true end offsets from the local broker (Tansu answers
    ListOffsets short after batched produces, which would end recovery early)."""
    from faust.transport.drivers import aiokafka as driver  # noqa: PLC0415

    async def _highwaters(self, partitions):  # type: ignore[no-untyped-def]
        return await end_offsets(partitions)

    driver.AIOKafkaConsumerThread._highwaters = _highwaters  # type: ignore[method-assign]


def bound_fetch_wait(max_wait_ms: int) -> None:
    """Make the workers' consumers wait at most ``max_wait_ms`` at the broker for a fetch to fill
    (Faust passes aiokafka a fixed ``fetch_max_wait_ms=1500``; see ``shared.kafka.compat``'s
    ``FETCH_MAX_WAIT_MS`` for why it matters). Idempotent."""
    from faust.transport.drivers import aiokafka as driver  # noqa: PLC0415

    thread = driver.AIOKafkaConsumerThread
    create = getattr(thread._create_worker_consumer, "__wrapped__", thread._create_worker_consumer)

    def _create_worker_consumer(self, transport):  # type: ignore[no-untyped-def]
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms  # what AIOKafkaConsumer.start() gives its Fetcher
        return consumer

    _create_worker_consumer.__wrapped__ = create  # type: ignore[attr-defined]
    thread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]


async def discard_stale_state(settings, group: str, table: str) -> list[str]:
    """Remove the local RocksDB state of every table partition whose changelog no longer holds
    what that state was built from (the event log was emptied or replaced: an in-memory broker
    restarted, topics deleted). Faust would refuse to start ("persisted offset ... is higher than
    the last offset in that topic"); the log is the truth, so the partition is rebuilt from it.
    Call before the worker starts (the databases are not open yet). Returns what was removed."""
    import shutil  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from aiokafka.structs import TopicPartition  # noqa: PLC0415

    from shared.kafka import compat  # noqa: PLC0415

    tabledir = Path(settings.state_dir) / "v1" / "tables"  # faust: datadir / f"v{version}" / "tables"
    found = {}
    for partition in range(settings.partitions):
        path = tabledir / f"{table}-{partition}.db"  # faust.stores.rocksdb.Store.partition_path
        if not path.exists():
            continue
        db = faust_rocksdb.rocksdict.Rdict(str(path), options=faust_rocksdb.rocksdict.Options(raw_mode=True))
        try:
            offset = db.get(faust_rocksdb.Store.offset_key)
        finally:
            db.close()
        if offset is not None:
            topic = f"{group}-{table}-changelog"  # faust: Collection._changelog_topic_name
            found[TopicPartition(topic, partition)] = (int(offset), path)
    if not found:
        return []
    ends = await compat.end_offsets(settings, list(found))
    removed = []
    for tp, (offset, path) in found.items():
        if offset >= ends.get(tp, 0):
            log.warning("the changelog %s[%d] ends at %d but the local state was built up to %d: "
                        "the event log was replaced; rebuilding this partition from it", tp.topic, tp.partition,
                        ends.get(tp, 0), offset)
            shutil.rmtree(path)
            removed.append(str(path))
    return removed
