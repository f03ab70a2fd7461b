"""The sink turns decoded structs into columns by transposing their field tuples, so each table's
column names must be its struct's fields in order: a row read back by column name must equal the
struct it came from (the account day's ``day`` as a date)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from msgspec.structs import asdict

from services.bench.stages import validated
from services.bench.workload import realistic_events
from services.sink.rows import Batch
from shared.domain.rows import AccountDayRow, FollowerRow, ThreadRow, encode_rows
from shared.topics import event_batches


def test_event_columns_read_back_as_the_events() -> None:
    events = validated(realistic_events(3_000, now=1_700_000_000_000))
    batch = Batch()
    for _, record in event_batches(events, 2):
        batch.add_events(record)
    columns = batch.tables["events_raw"]
    stored = {columns.row(i)["id"]: columns.row(i) for i in range(len(columns))}
    assert len(stored) == len(events)
    for event in events:
        assert stored[event.id] == asdict(event)


def test_fact_columns_read_back_as_the_rows() -> None:
    thread = ThreadRow("p1", "alice", 3, 2, 2, 1, 10, 20, 1, 0, 4, 7)
    day = AccountDayRow("alice", 19_000, True, 5, 2, 1, 1, 1, 3, 2, 2, 9, 4, 3, 1, 0, 4, 1, 1,
                        Decimal("12.5000"), Decimal("0.0000"), 8)
    follower = FollowerRow("alice", "bob", True, 10, False, 1, 2, 0, 0, 1, Decimal("3.0000"), 20, 9)
    batch = Batch()
    batch.add_facts(encode_rows([day, thread, follower, thread]))
    assert batch.tables["thread_rows_by_owner"].row(1) == asdict(thread)
    assert batch.tables["follower_ledger"].row(0) == asdict(follower)
    expected = asdict(day)
    expected["day"] = date(1970, 1, 1) + timedelta(days=19_000)
    assert batch.tables["account_days"].row(0) == expected
