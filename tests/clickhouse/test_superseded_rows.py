"""The traps of rows maintained ahead of the read (docs/design.md): a row delivered twice counts
once, an older version delivered after a newer one changes nothing, and a newer version that
leaves the view (a day that no longer qualifies, an edge that is no longer active) takes the older
one with it — FINAL is applied before the views' filters, also read-only."""
from datetime import date
from decimal import Decimal

import pytest

from services.sink.rows import COLUMNS
from shared.clickhouse.client import connect
from shared.clickhouse.schema import migrate
from shared.domain.rows import AccountDayRow, FollowerRow
from tests.conftest import settings_for

pytestmark = pytest.mark.clickhouse


def day_row(version: int, qualifies: bool, followers: int) -> tuple:
    row = AccountDayRow("ameena", 0, qualifies, followers, 1, 0, 0, followers, 2, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0,
                        Decimal("1.5"), Decimal(0), version)
    values = [getattr(row, name) for name in row.__struct_fields__]
    values[1] = date(2026, 11, 20)
    return tuple(values)


def ledger_row(version: int, active: bool) -> tuple:
    row = FollowerRow("ameena", "robert", active, 1_700_000_000_000 if active else None, False, 1, 2, 0, 0, 0,
                      Decimal(0), 1_700_000_000_000, version)
    return tuple(getattr(row, name) for name in row.__struct_fields__)


@pytest.fixture
def db(clickhouse):
    settings = settings_for(clickhouse=clickhouse, clickhouse_database="superseded")
    admin = connect(settings)
    admin.command("DROP DATABASE IF EXISTS superseded")
    migrate(admin, "superseded")
    admin.command("SYSTEM STOP MERGES superseded.account_days")  # every insert stays its own part
    admin.command("SYSTEM STOP MERGES superseded.follower_ledger")
    # The reader may read only the database `richness`; readonly=1 is what it runs under.
    reader = connect(settings)
    reader.set_client_setting("readonly", 1)
    yield admin, reader
    admin.command("DROP DATABASE IF EXISTS superseded")


def insert(admin, table: str, *rows: tuple) -> None:
    for row in rows:  # one insert, one part
        admin.insert(f"superseded.{table}", [row], column_names=list(COLUMNS[table]))


def test_a_day_that_stops_qualifying_leaves_the_view(db):
    admin, reader = db
    insert(admin, "account_days", day_row(5, True, 3), day_row(5, True, 3), day_row(9, False, 4), day_row(7, True, 2))
    assert reader.query("SELECT count() FROM superseded.account_daily").result_rows == [(0,)]


def test_the_highest_version_wins_whatever_the_order_of_arrival(db):
    admin, reader = db
    insert(admin, "account_days", day_row(9, True, 4), day_row(5, True, 3), day_row(9, True, 4))
    rows = reader.query("SELECT followers, replies_received, kept_revenue FROM superseded.account_daily").result_rows
    assert rows == [(4, 2, Decimal("1.5"))]


def test_an_edge_no_longer_active_leaves_the_ledger(db):
    admin, reader = db
    insert(admin, "follower_ledger", ledger_row(3, True), ledger_row(8, False), ledger_row(6, True))
    assert reader.query("SELECT count() FROM superseded.followers").result_rows == [(0,)]
    insert(admin, "follower_ledger", ledger_row(10, True))
    assert reader.query("SELECT follower, replies, clicks FROM superseded.followers").result_rows == [("robert", 1, 2)]
