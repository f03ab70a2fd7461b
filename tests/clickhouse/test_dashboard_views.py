"""The dashboards' own views (migrations 0005 and 0006) read less than FINAL over everything, yet
give what FINAL gives: rows delivered twice, older versions arriving after newer ones, days
rewritten by late follows, conversations whose last reply moves out of a range, and a migration
that fills account_latest from rows already stored. Checked against FINAL over the same tables,
read-only, with every insert its own part (merges stopped), on one server and on two shards."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.sink.rows import COLUMNS
from shared.clickhouse.client import connect
from shared.clickhouse.schema import apply
from tests.conftest import ClickHouseCluster, settings_for

pytestmark = pytest.mark.clickhouse

DB = "dashviews"
FIRST_DAY = date(2026, 10, 1)
T0 = datetime(2026, 10, 1, tzinfo=timezone.utc)


class Target:
    """The admin and a read-only client of one server or of a cluster's first node."""

    def __init__(self, server) -> None:
        self.settings = settings_for(clickhouse=server, clickhouse_database=DB)
        self.sharded = isinstance(server, ClickHouseCluster)
        self.nodes = [connect(self.settings, url=node.url) for node in server.nodes] if self.sharded \
            else [connect(self.settings)]
        self.admin = self.nodes[0]
        self.reader = connect(self.settings)
        self.reader.set_client_setting("readonly", 1)

    def local(self, table: str) -> str:
        return f"{DB}.{table}_local" if self.sharded else f"{DB}.{table}"

    def insert(self, table: str, rows: list[tuple]) -> None:
        self.admin.insert(f"{DB}.{table}", rows, column_names=list(COLUMNS[table]))
        if self.sharded:  # sent to the shards now, as one part each
            self.admin.command(f"SYSTEM FLUSH DISTRIBUTED {DB}.{table}")

    def drop(self) -> None:
        for node in self.nodes:
            node.command(f"DROP DATABASE IF EXISTS {DB} SYNC")


@pytest.fixture
def db(clickhouse_target):
    target = Target(clickhouse_target)
    target.drop()
    apply(target.settings)
    for node in target.nodes:
        for table in ("account_days", "thread_rows_by_owner", "events_raw", "account_latest"):
            node.command(f"SYSTEM STOP MERGES {target.local(table)}")  # every insert stays its own part
    yield target
    target.drop()


def account_day(account: str, day: date, followers: int, mutuals: int, version: int, qualifies: bool = True) -> tuple:
    # (follows_gained, unfollows, then after net_followers the eleven counts of the day: zeros)
    return (account, day, qualifies, followers, 0, 0, mutuals, 0, *[0] * 11, Decimal(0), Decimal(0), version)


def random_history(rng: random.Random, accounts: int = 6, days: int = 40) -> list[list[tuple]]:
    """Batches of account rows as a processor rewriting days would send them: each (account,
    day) several versions with different figures, some batches repeated, arriving in any order."""
    batches = []
    for account in range(accounts):
        for day in rng.sample(range(days), rng.randint(1, 12)):
            for _ in range(rng.randint(1, 3)):
                batches.append([account_day(f"a{account}", FIRST_DAY + timedelta(days=day), rng.randint(0, 50),
                                            rng.randint(0, 9), rng.randint(1, 10**12), rng.random() < 0.8)])
    batches += rng.sample(batches, len(batches) // 4)  # delivered again
    rng.shuffle(batches)
    return batches


def followers_at_by_final(reader, day: date) -> dict:
    rows = reader.query(f"SELECT account, argMax(followers, day), argMax(mutuals, day) FROM {DB}.account_days FINAL "
                        "WHERE day <= {d:Date} GROUP BY account", parameters={"d": day}).result_rows
    return {account: (followers, mutuals) for account, followers, mutuals in rows}


def followers_at(reader, day: date) -> dict:
    rows = reader.query(f"SELECT account, followers, mutuals FROM {DB}.followers_at(day = {{d:Date}})",
                        parameters={"d": day}).result_rows
    assert len(rows) == len({account for account, _, _ in rows}), "an account twice"
    return {account: (followers, mutuals) for account, followers, mutuals in rows}


def test_followers_at_the_end_of_any_day_are_the_latest_row_up_to_it(db):
    reader = db.reader
    for batch in random_history(random.Random(7)):
        db.insert("account_days", batch)
    for offset in range(-1, 42):
        day = FIRST_DAY + timedelta(days=offset)
        assert followers_at(reader, day) == followers_at_by_final(reader, day), day


def test_a_day_rewritten_later_and_an_older_version_arriving_last(db):
    reader = db.reader
    db.insert("account_days", [account_day("ameena", FIRST_DAY, 3, 1, 10)])
    db.insert("account_days", [account_day("ameena", FIRST_DAY + timedelta(days=5), 7, 2, 20)])
    # A late follow rewrites day 5 (a newer version); then the original day-5 row arrives again.
    db.insert("account_days", [account_day("ameena", FIRST_DAY + timedelta(days=5), 8, 3, 30)])
    db.insert("account_days", [account_day("ameena", FIRST_DAY + timedelta(days=5), 7, 2, 20)])
    # Days on which only its own follows changed its mutuals count too (not shown by account_daily).
    db.insert("account_days", [account_day("ameena", FIRST_DAY + timedelta(days=6), 8, 1, 40, qualifies=False)])
    assert followers_at(reader, FIRST_DAY + timedelta(days=4)) == {"ameena": (3, 1)}
    assert followers_at(reader, FIRST_DAY + timedelta(days=5)) == {"ameena": (8, 3)}
    assert followers_at(reader, FIRST_DAY + timedelta(days=30)) == {"ameena": (8, 1)}
    assert followers_at(reader, FIRST_DAY - timedelta(days=1)) == {}


def test_the_migration_fills_account_latest_from_rows_already_stored(db):
    reader = db.reader
    for batch in random_history(random.Random(3)):
        db.insert("account_days", batch)
    expected = followers_at_by_final(reader, FIRST_DAY + timedelta(days=60))
    # As a server upgraded to the dashboard tables: rows stored, account_latest empty, 0005 not run.
    for node in db.nodes:
        node.command(f"TRUNCATE TABLE {db.local('account_latest')}")
        node.command(f"DELETE FROM {DB}.schema_migrations WHERE name = '0005_dashboard_reads.sql'")
    assert followers_at(reader, FIRST_DAY + timedelta(days=60)) == {}
    assert "0005_dashboard_reads.sql" in apply(db.settings)
    assert followers_at(reader, FIRST_DAY + timedelta(days=60)) == expected


def thread(root: str, version: int, last_reply_hours: int, owner: str | None = "ameena", replies: int = 1,
           deleted: bool = False) -> tuple:
    last = T0 + timedelta(hours=last_reply_hours)
    ms = int(last.timestamp() * 1000)
    return (root, owner, replies, 1, 1, 0, ms - 3_600_000, ms, 1, 0, 0, version, deleted)


def threads_between(reader, since: datetime, until: datetime) -> list[tuple]:
    return sorted(reader.query(
        f"SELECT root_id, owner, replies, last_reply_at FROM {DB}.threads_between(since = {{s:DateTime64(3)}}, "
        "until = {u:DateTime64(3)})", parameters={"s": since, "u": until}).result_rows)


def threads_by_final(reader, since: datetime, until: datetime) -> list[tuple]:
    return sorted(reader.query(
        f"SELECT root_id, owner, replies, last_reply_at FROM {DB}.threads WHERE last_reply_at >= {{s:DateTime64(3)}} "
        "AND last_reply_at <= {u:DateTime64(3)}", parameters={"s": since, "u": until}).result_rows)


def test_threads_between_are_the_current_rows_whose_last_reply_is_in_the_range(db):
    reader = db.reader
    rng = random.Random(11)
    batches = []
    for root in range(40):
        # Each new version has more replies, a last reply no earlier, and may learn its owner or
        # change it (an earlier post): then, as the processor does, the previous owner's row is
        # withdrawn with the same version and figures.
        last, replies, owner = rng.randint(0, 400), 0, None
        for version in sorted(rng.sample(range(1, 10**9), rng.randint(1, 5))):
            last += rng.choice([0, 0, rng.randint(1, 200)])
            replies += 1
            previous = owner
            if owner is None or rng.random() < 0.2:
                owner = f"a{rng.randint(0, 3)}" if rng.random() < 0.5 else owner
            if replies > 1 and owner != previous:
                batches.append([thread(f"r{root}", version, last, previous, replies, deleted=True)])
            batches.append([thread(f"r{root}", version, last, owner, replies)])
    batches += rng.sample(batches, len(batches) // 4)
    rng.shuffle(batches)
    for batch in batches:
        db.insert("thread_rows_by_owner", batch)
    for start in range(-24, 900, 37):
        for length in (1, 24, 170, 720):
            since, until = T0 + timedelta(hours=start), T0 + timedelta(hours=start + length)
            assert threads_between(reader, since, until) == threads_by_final(reader, since, until), (start, length)


def test_a_conversation_whose_last_reply_moved_past_the_range_leaves_it(db):
    reader = db.reader
    db.insert("thread_rows_by_owner", [thread("r", 5, 10, owner=None)])
    # The root post and a reply arrive: the row moves to its owner, the row without one is withdrawn.
    db.insert("thread_rows_by_owner", [thread("r", 9, 50, replies=2), thread("r", 9, 50, None, 2, deleted=True)])
    db.insert("thread_rows_by_owner", [thread("r", 5, 10, owner=None)])  # the old row again
    assert threads_between(reader, T0, T0 + timedelta(hours=20)) == []
    [(root, owner, replies, _)] = threads_between(reader, T0, T0 + timedelta(hours=60))
    assert (root, owner, replies) == ("r", "ameena", 2)
    assert threads_by_final(reader, T0, T0 + timedelta(hours=60)) == threads_between(reader, T0, T0 + timedelta(hours=60))


def event_row(**fields) -> tuple:
    """An events_raw row in the sink's column order (unnamed columns None)."""
    return tuple(fields.get(name) for name in COLUMNS["events_raw"])


def click(event_id: str, target: str, actor: str | None, hours: int) -> tuple:
    ts = int((T0 + timedelta(hours=hours)).timestamp() * 1000)
    return event_row(id=event_id, type="click", ts=ts, actor=actor, target=target, received_at=ts + 5)


def test_clicks_repeated_before_their_parts_merge_count_once(db):
    reader = db.reader
    clicks = [click(f"c{i}", f"t{i % 3}", f"u{i % 5}" if i % 4 else None, i) for i in range(30)]
    db.insert("events_raw", clicks)
    db.insert("events_raw", clicks[5:12])  # resent: a second copy in another part
    db.insert("events_raw", [event_row(id="p1", type="post", ts=clicks[0][2], actor="t0", post_id="p1", received_at=1)])
    for target in ("t0", "t1", None):
        where = "ts >= {s:DateTime64(3)} AND ts <= {u:DateTime64(3)}" + (" AND target = {t:String}" if target else "")
        parameters = {"s": T0 + timedelta(hours=3), "u": T0 + timedelta(hours=20), "t": target}
        shown = reader.query(f"SELECT uniqExact(id), uniqExact(actor) FROM {DB}.click_events WHERE {where}",
                             parameters=parameters).result_rows
        truth = reader.query(f"SELECT count(), uniqExact(actor) FROM {DB}.events WHERE type = 'click' AND {where}",
                             parameters=parameters).result_rows
        assert shown == truth and truth[0][0] > 0, target
