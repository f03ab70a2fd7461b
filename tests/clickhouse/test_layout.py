"""The migration files placed on one server, a sharded cluster and a replicated one (pure: the
statements are generated, not run; tests/clickhouse/test_cluster_schema.py runs them)."""
from __future__ import annotations

import re

import pytest

from shared.clickhouse.layout import SINGLE, Layout, LayoutError, migrations_table
from shared.clickhouse.schema import Migration, all_tables, available

SHARDED = Layout("c2")
REPLICATED = Layout("prod", replicated=True)


def placed(layout: Layout, migrations: list[Migration] | None = None) -> list[str]:
    migrations = migrations or available()
    tables = all_tables(migrations)
    return [sql for m in migrations for sql in m.statements("richness", layout, tables)]


def test_one_server_runs_the_files_as_written():
    for migration in available():
        body = "\n".join(line for line in migration.sql.splitlines() if not line.lstrip().startswith("--"))
        for statement in migration.statements("richness"):
            assert statement in body.replace("{db}", "richness").replace("{local}", ""), statement[:80]
    assert not [s for s in placed(SINGLE) if "_local" in s or "Distributed" in s or "ON CLUSTER" in s]


def test_every_table_is_local_per_shard_behind_a_distributed_table_of_its_name():
    statements = placed(SHARDED)
    for name, table in all_tables().items():
        [local] = [s for s in statements if s.startswith(f"CREATE TABLE IF NOT EXISTS richness.{name}_local\n")]
        assert f"ENGINE = {table.engine}" in local and "Replicated" not in local
        [distributed] = [s for s in statements if s.startswith(f"CREATE TABLE IF NOT EXISTS richness.{name} AS")]
        assert (f"Distributed('c2', 'richness', '{name}_local', {table.sharding_key})") in distributed


def test_figures_of_one_account_share_a_shard_and_every_key_stays_on_its_shard():
    tables = all_tables()
    # By hex(account): the dashboards' filter `hex(account) IN ('…')` narrows a read to its shard.
    for name in ("account_days", "follower_ledger", "account_latest"):
        assert tables[name].shard_by == ("hex(account)",)
        assert tables[name].sharding_key == "cityHash64(hex(account))"
    # A conversation lives under its owner ('' until known), withdrawn when the owner changes.
    assert tables["thread_rows_by_owner"].shard_by == ("hex(owner_key)",)
    assert tables["events_raw"].shard_by == ("id",)


def test_views_read_the_distributed_tables_and_materialized_views_the_local_ones():
    statements = placed(SHARDED)
    [threads] = [s for s in statements if s.startswith("CREATE OR REPLACE VIEW richness.threads ")]
    assert "FROM richness.thread_rows_by_owner FINAL" in threads
    [posts_mv] = [s for s in statements if s.startswith("CREATE MATERIALIZED VIEW IF NOT EXISTS richness.posts_mv")]
    assert "TO richness.posts_local" in posts_mv and "FROM richness.events_raw_local" in posts_mv


def test_alters_and_drops_reach_both_tables():
    statements = placed(SHARDED)
    assert [s for s in statements if s.startswith("ALTER TABLE richness.events_raw") and "order_id Nullable" in s] == [
        "ALTER TABLE richness.events_raw_local ADD COLUMN IF NOT EXISTS order_id Nullable(String) AFTER url",
        "ALTER TABLE richness.events_raw ADD COLUMN IF NOT EXISTS order_id Nullable(String) AFTER url"]
    assert "DROP TABLE IF EXISTS richness.posts" in statements
    assert "DROP TABLE IF EXISTS richness.posts_local" in statements


def test_projections_and_storage_settings_go_to_the_local_tables_only():
    for layout, on in ((SHARDED, ""), (REPLICATED, " ON CLUSTER 'prod'")):
        statements = [s for s in placed(layout) if "PROJECTION" in s or "MODIFY SETTING" in s]
        assert f"ALTER TABLE richness.events_raw_local{on} ADD PROJECTION IF NOT EXISTS clicks_by_target" in \
            "\n".join(statements)
        assert statements and all(s.startswith(("ALTER TABLE richness.events_raw_local",
                                                          "ALTER TABLE richness.thread_rows_by_owner_local"))
                                  for s in statements), statements


def test_a_table_filled_from_stored_rows_is_filled_shard_by_shard_or_once_through_the_cluster():
    sharded = placed(SHARDED)
    # Sharded alike: each node from its own rows into its own part.
    [latest] = [s for s in sharded if s.startswith("INSERT INTO richness.account_latest")]
    assert latest.startswith("INSERT INTO richness.account_latest_local SELECT") and "FROM richness.account_days_local" in latest
    # Sharded otherwise: each node sends its own rows through the Distributed table, flushed at once.
    at = next(i for i, s in enumerate(sharded) if s.startswith("INSERT INTO richness.thread_rows_by_owner"))
    assert sharded[at].startswith("INSERT INTO richness.thread_rows_by_owner SELECT")
    assert sharded[at].endswith("FROM richness.thread_rows_local FINAL")
    assert sharded[at + 1] == "SYSTEM FLUSH DISTRIBUTED richness.thread_rows_by_owner"
    assert sharded[at + 2:at + 4] == ["DROP TABLE IF EXISTS richness.thread_rows", "DROP TABLE IF EXISTS richness.thread_rows_local"]
    inserts = [s for s in placed(REPLICATED) if s.startswith("INSERT")]
    assert [s.split(" SELECT")[0] for s in inserts] == ["INSERT INTO richness.thread_rows_by_owner",
                                                        "INSERT INTO richness.account_latest"]
    assert inserts[0].endswith("FROM richness.thread_rows FINAL") and inserts[1].endswith("FROM richness.account_days")


def test_replicated_tables_use_the_macros_and_every_statement_runs_on_the_cluster():
    statements = placed(REPLICATED)
    assert all(" ON CLUSTER 'prod'" in s for s in statements if not s.startswith("INSERT"))
    for name, table in all_tables().items():
        [local] = [s for s in statements if s.startswith(f"CREATE TABLE IF NOT EXISTS richness.{name}_local ")]
        args = f", {table.engine_args}" if table.engine_args else ""
        assert (f"ENGINE = Replicated{table.engine}('/clickhouse/tables/{{shard}}/richness/{name}_local', "
                f"'{{replica}}'{args})") in local
    assert all(s.endswith(" SYNC") for s in statements if s.startswith("DROP TABLE"))
    assert "'{shard}-{replica}'" in migrations_table(REPLICATED) and " ON CLUSTER 'prod'" in migrations_table(REPLICATED)


def test_a_new_table_and_view_in_a_migration_file_are_placed_without_changing_the_generator():
    extra = Migration("0099_new.sql", """
-- A table of a later issue; its key is an account and a week.
-- richness: shard by account
CREATE TABLE IF NOT EXISTS {db}.account_weeks
(
    account String,
    week    Date,
    posts   UInt64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (account, week);

CREATE OR REPLACE VIEW {db}.weekly AS SELECT account, week, posts FROM {db}.account_weeks FINAL;
""")
    statements = placed(SHARDED, [*available(), extra])
    assert any("Distributed('c2', 'richness', 'account_weeks_local', cityHash64(account))" in s for s in statements)
    assert "CREATE OR REPLACE VIEW richness.weekly AS SELECT account, week, posts FROM richness.account_weeks FINAL" \
        in statements


def test_a_view_reads_a_tables_own_shard_where_it_says_local():
    view = Migration("0099_view.sql", "CREATE OR REPLACE VIEW {db}.v AS SELECT account FROM {db}.account_days "
                                      "WHERE account IN (SELECT account FROM {db}.account_latest{local});")
    [single] = view.statements("richness", SINGLE, all_tables())
    assert single.endswith("account IN (SELECT account FROM richness.account_latest)")
    [sharded] = view.statements("richness", SHARDED, all_tables())
    assert "FROM richness.account_days WHERE" in sharded  # the outer read: every shard, through Distributed
    assert sharded.endswith("account IN (SELECT account FROM richness.account_latest_local)")


@pytest.mark.parametrize("sql, complaint", [
    ("-- richness: shard by owner\nCREATE TABLE {db}.t (root_id String, owner Nullable(String), version UInt64) "
     "ENGINE = ReplacingMergeTree(version) ORDER BY root_id;", "outside its ORDER BY"),
    ("CREATE TABLE {db}.t (a Int8) ENGINE = Memory;", "only MergeTree tables"),
    ("INSERT INTO {db}.t VALUES (1);", "no rule places this statement"),
    ("CREATE TABLE {db}.t (a String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY a;\n"
     "INSERT INTO {db}.t SELECT 'a', 1;", "reads no sharded table"),
    ("INSERT INTO {db}.nowhere SELECT * FROM {db}.account_days;", "not a table of the migrations"),
    ("-- richness: shard by a\nCREATE VIEW {db}.v AS SELECT 1;", "just above CREATE TABLE"),
    ("CREATE VIEW {db}.v AS SELECT 1 FROM {db}.nowhere{local};", "not a table of the migrations"),
    ("-- richness: shard by hex(owner)\nCREATE TABLE {db}.t (root_id String, owner String, version UInt64) "
     "ENGINE = ReplacingMergeTree(version) ORDER BY root_id;", "outside its ORDER BY"),
])
def test_what_cannot_be_placed_safely_is_refused(sql, complaint):
    with pytest.raises(LayoutError, match=complaint):
        placed(SHARDED, [Migration("0099_bad.sql", sql)])


def test_cluster_names_are_checked():
    with pytest.raises(ValueError):
        Layout("c2'; DROP TABLE x; --")
    with pytest.raises(ValueError):
        Layout(None, replicated=True)
    assert re.fullmatch(r"sharded|replicated|single", Layout("a.b-c_1").kind)
