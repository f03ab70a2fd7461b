"""The schema on real servers: the sharded layout applied to a two-shard cluster (two embedded
servers), and the replicated layout's DDL read by ClickHouse's own parser (replication itself
cannot run here: the embedded engine has no Keeper)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from services.dashboards.queries import panel_queries, resolve_variables
from services.sink.rows import COLUMNS
from shared.clickhouse.client import connect
from shared.clickhouse.layout import Layout, migrations_table
from shared.clickhouse.schema import all_tables, apply, available
from shared.domain.rows import AccountDayRow
from shared.grafana import provisioning
from shared.grafana.macros import TimeRange
from tests.conftest import settings_for

pytestmark = pytest.mark.clickhouse
DB = "richness"


def day_row(account: str, day: date, followers: int, version: int) -> tuple:
    row = AccountDayRow(account, 0, True, followers, 1, 0, 0, followers, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        Decimal(0), Decimal(0), version)
    values = [getattr(row, name) for name in row.__struct_fields__]
    values[1] = day
    return tuple(values)


@pytest.fixture
def cluster_db(clickhouse_cluster):
    # `richness`: the only database the read-only user may read (no other test uses it on the cluster).
    settings = settings_for(clickhouse=clickhouse_cluster, clickhouse_database=DB)
    nodes = [connect(settings, url=node.url) for node in clickhouse_cluster.nodes]
    for node in nodes:
        node.command(f"DROP DATABASE IF EXISTS {DB} SYNC")
    apply(settings)
    yield settings, nodes
    for node in nodes:
        node.command(f"DROP DATABASE IF EXISTS {DB} SYNC")


def test_every_node_holds_each_table_locally_and_behind_a_distributed_table(cluster_db):
    settings, nodes = cluster_db
    for node in nodes:
        engines = dict(node.query("SELECT name, engine FROM system.tables WHERE database = {db:String}",
                                  parameters={"db": DB}).result_rows)
        for name, table in all_tables().items():
            if name in ("posts", "clicks", "reply_facts", "edge_events", "edge_state", "thread_rows"):  # dropped
                assert name not in engines and f"{name}_local" not in engines
                continue
            assert engines[f"{name}_local"] == table.engine, name
            assert engines[name] == "Distributed", name
        assert {"events", "threads", "account_daily", "followers"} <= set(engines)
    assert apply(settings) == [m.name for m in available() if m.rerun], "a second run applies only the views"


def test_every_day_of_an_account_lands_on_one_shard_and_the_newest_version_wins(cluster_db):
    settings, nodes = cluster_db
    accounts = [f"account-{n}" for n in range(40)]
    rows = [day_row(a, date(2026, 11, d), followers=10 * d + v, version=v) for a in accounts for d in (1, 2, 3) for v in (1, 2)]
    nodes[0].insert(f"{DB}.account_days", rows, column_names=list(COLUMNS["account_days"]))
    nodes[0].command(f"SYSTEM FLUSH DISTRIBUTED {DB}.account_days")
    held = [dict(node.query(f"SELECT account, count() FROM {DB}.account_days_local GROUP BY account")
                 .result_rows) for node in nodes]
    assert all(held), "one shard got nothing: the rows were not spread"
    assert not set(held[0]) & set(held[1]), "an account's days are on both shards"
    assert set(held[0]) | set(held[1]) == set(accounts)
    # The reader's query asks the other shard as the reader (the servers share a secret, not a user).
    reader = connect(settings, reader=True)
    assert reader.query(f"SELECT count(), sum(followers) FROM {DB}.account_daily").first_row == (120, 40 * 66)


def test_the_reader_stays_read_only_and_default_stays_off_the_network(cluster_db, clickhouse_cluster):
    settings, nodes = cluster_db
    reader = connect(settings, reader=True)
    with pytest.raises(DatabaseError, match="Not enough privileges|readonly"):
        reader.insert(f"{DB}.account_days", [day_row("x", date(2026, 11, 1), 1, 1)],
                      column_names=list(COLUMNS["account_days"]))
    for node in clickhouse_cluster.nodes:  # the shards reach each other with the cluster's secret, not `default`
        response = httpx.post(node.url, content=f"SELECT count() FROM {DB}.account_days_local".encode(),
                              auth=("default", ""), timeout=10)
        assert response.status_code != 200 and "Not enough privileges" in response.text, response.text


def test_the_replicated_layout_parses_as_clickhouse_sql(clickhouse):
    client = connect(settings_for(clickhouse=clickhouse))
    layout = Layout("richness", replicated=True)
    tables = all_tables()
    statements = [migrations_table(layout).replace("{db}", "richness")]
    statements += [s for m in available() for s in m.statements("richness", layout, tables)]
    for statement in statements:
        formatted = client.query("SELECT formatQuerySingleLine({sql:String})", parameters={"sql": statement}).first_row[0]
        if formatted.startswith("INSERT INTO"):  # DML: once, through the Distributed tables (no ON CLUSTER)
            assert "_local" not in formatted, formatted
            continue
        assert "ON CLUSTER richness" in formatted, formatted
        if formatted.startswith("CREATE TABLE") and "_local" in formatted.split(" ON CLUSTER")[0]:
            assert "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/richness/" in formatted
        if " AS richness." in formatted and "Distributed" in formatted:
            assert "ENGINE = Distributed('richness', 'richness', " in formatted


def test_a_read_of_one_account_asks_only_its_shard(cluster_db):
    settings, nodes = cluster_db
    reader = connect(settings, reader=True)
    assert reader.query("SELECT getSetting('optimize_skip_unused_shards')").first_row == (1,)
    # Would throw if the view's filter on the account could not be narrowed to one shard.
    nodes[0].query(f"SELECT count() FROM {DB}.account_daily WHERE account = 'account-7' "
                   "SETTINGS optimize_skip_unused_shards = 1, force_optimize_skip_unused_shards = 1")
    nodes[0].query(f"SELECT count() FROM {DB}.followers WHERE account IN ('account-7', 'account-8') "
                   "SETTINGS optimize_skip_unused_shards = 1, force_optimize_skip_unused_shards = 1")


def test_the_dashboards_panels_of_one_account_ask_only_its_shard(cluster_db):
    """Each panel filtered by `hex(account) IN (…)` (or a conversation's `hex(owner_key)`) runs
    with `force_optimize_skip_unused_shards`, which refuses a read it cannot narrow to the shards
    its accounts live on."""
    settings, nodes = cluster_db
    now = datetime.now(timezone.utc)
    replies = COLUMNS["account_days"].index("replies_received")
    rows = [day_row(f"account-{n}", (now - timedelta(days=d)).date(), 10 + d, 1) for n in range(20) for d in range(3)]
    rows = [(*row[:replies], 5, *row[replies + 1:]) for row in rows]  # the variable lists accounts with replies
    nodes[0].insert(f"{DB}.account_days", rows, column_names=list(COLUMNS["account_days"]))
    nodes[0].command(f"SYSTEM FLUSH DISTRIBUTED {DB}.account_days")
    time_range = TimeRange(now - timedelta(days=7), now)
    asked, narrowed, failed = 0, 0, []
    for board in provisioning.dashboards():
        if not board.get("templating", {}).get("list"):
            continue
        variables = resolve_variables(nodes[0], board, time_range, {"account": ["account-3"]})
        for query in panel_queries(board, time_range):
            if query.datasource_type != provisioning.CLICKHOUSE_TYPE or not re.search(r"hex\(\w+\) IN", query.text):
                continue
            asked += 1
            try:
                nodes[0].query(query.clickhouse_sql(time_range, variables),
                               settings={"optimize_skip_unused_shards": 1, "force_optimize_skip_unused_shards": 1})
                narrowed += 1
            except DatabaseError as error:
                failed.append((board["uid"], query.panel["title"], str(error).splitlines()[0][:200]))
    assert not failed, failed
    assert narrowed == asked >= 40  # every panel of the four engagement dashboards but the clicks
