"""Regression: every ``Client.insert`` left its insert context — holding the whole batch — in a
reference cycle. The sink runs the cycle collector rarely (services/sink/__main__.py), so at 10^7
events its memory grew to 10 GB. Its inserts must leave nothing for the cycle collector."""
from __future__ import annotations

import gc

import pytest

from services.sink.rows import Batch
from services.sink.sink import Sink
from shared.clickhouse.client import connect
from shared.clickhouse.schema import migrate
from shared.domain.rows import ThreadRow, encode_rows
from tests.conftest import settings_for

pytestmark = pytest.mark.clickhouse


def test_inserted_batches_are_freed_without_the_cycle_collector(clickhouse):
    settings = settings_for(clickhouse=clickhouse, clickhouse_database="sink_cycles")
    migrate(connect(settings), settings.clickhouse_database)
    sink = Sink(settings, lambda: connect(settings))
    rows = [ThreadRow(f"r{i}", "ann", 3, 2, 1, 1, 1_790_000_000_000, 1_790_000_000_000, 1, 0, 0, 7)
            for i in range(1000)]
    sink._insert("thread_rows_by_owner", _columns(rows))  # the first one also connects
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            sink._insert("thread_rows_by_owner", _columns(rows))
        gc.collect()
        left = [type(thing).__name__ for thing in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert "InsertContext" not in left and "list" not in left, left
    stored = connect(settings).query(f"SELECT count() FROM {settings.clickhouse_database}.thread_rows_by_owner FINAL")
    assert stored.first_row == (1000,)


def _columns(rows):
    batch = Batch()
    batch.add_facts(encode_rows(rows))
    return batch.tables["thread_rows_by_owner"]
