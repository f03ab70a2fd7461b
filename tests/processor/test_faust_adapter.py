"""Every Faust internal the processor relies on (services/processor/faust_adapter.py) still exists
and behaves as assumed; and recovery applies whole batches only.

If a Faust upgrade breaks one of these, this file says which, before any pipeline test hangs."""
from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from pathlib import Path

import faust
import pytest
from aiokafka import AIOKafkaConsumer
from faust import stores as faust_stores
from faust.stores import memory as faust_memory
from faust.stores import rocksdb as faust_rocksdb
from faust.tables import recovery as faust_recovery
from faust.transport.drivers import aiokafka as faust_driver
from faust.types import TP

from services.processor.faust_adapter import (BATCH_HEADER, MARKER_KEY, MemoryStore, RocksStore, bound_fetch_wait,
                                              changelog_tp, is_settling, store_url, table_store)
from shared.kafka.compat import FETCH_MAX_WAIT_MS


def test_the_stores_are_registered_under_fausts_store_plugins():
    assert faust_stores.by_url(store_url("rocksdb")) is RocksStore
    assert faust_stores.by_url(store_url("memory")) is MemoryStore


def test_the_internals_used_still_exist():
    assert isinstance(faust_rocksdb.Store.offset_key, bytes)
    for name in ("_db_for_partition", "partition_path", "persisted_offset", "set_persisted_offset",
                 "apply_changelog_batch", "on_recovery_completed", "on_rebalance"):
        assert callable(getattr(faust_rocksdb.Store, name)), name
    assert faust_rocksdb.rocksdict is not None and hasattr(faust_rocksdb.rocksdict, "WriteBatch")
    assert hasattr(faust_driver.AIOKafkaConsumerThread, "_highwaters")
    assert "_key_partition" in inspect.getsource(faust_memory.Store.__post_init__)
    # Recovery skips changelog records at or below the persisted offset, and refuses a persisted
    # offset beyond the changelog's end (discard_stale_state removes such state before start).
    source = inspect.getsource(faust_recovery)
    assert "offset > seen_offset" in source and "raise ConsistencyError" in source


def test_the_workers_consumer_waits_at_most_the_bounded_fetch_wait(monkeypatch):
    current = faust_driver.AIOKafkaConsumerThread._create_worker_consumer
    # Put back after the test (create_app applies the bound in every worker anyway).
    monkeypatch.setattr(faust_driver.AIOKafkaConsumerThread, "_create_worker_consumer", current)
    faust_own = getattr(current, "__wrapped__", current)  # wrapped already if a test ran create_app
    assert "fetch_max_wait_ms=1500" in inspect.getsource(faust_own)
    bound_fetch_wait(FETCH_MAX_WAIT_MS)
    bound_fetch_wait(FETCH_MAX_WAIT_MS)  # idempotent: wraps Faust's method once

    async def created() -> int:
        app = faust.App("fetch-wait", broker="kafka://127.0.0.1:1")
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        try:
            assert isinstance(consumer, AIOKafkaConsumer)
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    assert asyncio.run(created()) == FETCH_MAX_WAIT_MS < 1500
    # aiokafka hands that attribute to the Fetcher it builds when the consumer starts
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.start)


def test_rocksdb_tables_live_where_discard_stale_state_looks(tmp_path):
    app = faust.App("layout", broker="kafka://127.0.0.1:1", store=store_url("rocksdb"), datadir=str(tmp_path))
    table = app.Table("events-state", key_type=bytes, value_type=bytes, partitions=2)
    store = table_store(table)
    assert isinstance(store, RocksStore)
    assert store.partition_path(1) == tmp_path / "v1" / "tables" / "events-state-1.db"
    assert changelog_tp(table, 1) == TP("layout-events-state-changelog", 1)


@dataclass
class _Message:
    key: bytes
    value: bytes
    headers: list
    partition: int
    offset: int
    topic: str = "app-events-state-changelog"

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


@dataclass
class _Event:
    message: _Message


def records(batch_id: bytes, items: dict[bytes, bytes], first_offset: int, marker: bool = True) -> list[_Event]:
    events = [_Event(_Message(k, v, [(BATCH_HEADER, batch_id)], 0, first_offset + i)) for i, (k, v) in enumerate(items.items())]
    if marker:
        events.append(_Event(_Message(MARKER_KEY, batch_id, [(BATCH_HEADER, batch_id)], 0, first_offset + len(items))))
    return events


@pytest.fixture(params=["memory", "rocksdb"])
def store(request, tmp_path: Path):
    app = faust.App("app", broker="kafka://127.0.0.1:1", store=store_url(request.param), datadir=str(tmp_path))
    return table_store(app.Table("events-state", key_type=bytes, value_type=bytes, partitions=1))


def test_recovery_applies_a_batch_only_with_its_marker(store):
    whole = records(b"batch-1", {b"a": b"1", b"b": b"1"}, 0)
    crashed = records(b"batch-2", {b"a": b"2", b"c": b"2"}, 3, marker=False)  # the writer died here
    store.apply_changelog_batch(whole + crashed, to_key=None, to_value=None)
    assert (store.read(0, b"a"), store.read(0, b"b"), store.read(0, b"c")) == (b"1", b"1", None)

    # The batch is processed again (its events were never committed) under another id.
    again = records(b"batch-3", {b"a": b"3", b"d": b"3"}, 5)
    store.apply_changelog_batch(again[:1], to_key=None, to_value=None)  # recovery reads in chunks
    store.apply_changelog_batch(again[1:], to_key=None, to_value=None)
    assert [store.read(0, k) for k in (b"a", b"b", b"c", b"d")] == [b"3", b"1", None, b"3"]


def test_what_is_pending_when_recovery_ends_is_dropped(store):
    store.apply_changelog_batch(records(b"batch-1", {b"a": b"1"}, 0, marker=False), to_key=None, to_value=None)
    asyncio.run(store.on_recovery_completed({TP("app-events-state-changelog", 0)}, set()))
    store.apply_changelog_batch([_Event(_Message(MARKER_KEY, b"batch-1", [(BATCH_HEADER, b"batch-1")], 0, 9))],
                                to_key=None, to_value=None)
    assert store.read(0, b"a") is None


def test_commit_writes_the_batch_and_remembers_the_marker_offset(store):
    store.commit(0, [(b"a", b"1")], TP("app-events-state-changelog", 0), 41)
    assert store.read(0, b"a") == b"1"
    expected = None if isinstance(store, MemoryStore) else 41  # memory: rebuilt from the changelog on start
    assert store.persisted_offset(TP("app-events-state-changelog", 0)) == expected


def test_settling_is_read_from_the_apps_rebalancing_and_recovery_flags():
    from faust.types.app import AppT

    assert "rebalancing" in AppT.__annotations__ and "in_recovery" in AppT.__annotations__
    # Faust's recovery raises and lowers the app's flag around every recovery
    source = inspect.getsource(faust_recovery.Recovery)
    assert "app.on_rebalance_end()" in source
    assert "self.app.in_recovery = True" in source and "self.app.in_recovery = False" in source
    app = faust.App("settling", broker="kafka://127.0.0.1:1")
    assert not is_settling(app)
    app.on_rebalance_start()  # the consumer, when an assignment starts
    assert is_settling(app)
    app.on_rebalance_end()  # the recovery, once the assigned tables are recovered
    assert not is_settling(app)
    app.in_recovery = True
    assert is_settling(app)
