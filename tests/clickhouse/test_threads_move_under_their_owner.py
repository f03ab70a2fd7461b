"""Upgrading a server (or a two-shard cluster) whose conversations are in thread_rows (keyed by
root_id): migration 0003a moves each conversation's current row under its owner, on the owner's
shard, also when a run stopped after it and runs it again; 0003b drops the old table; the
contract view shows the same conversations as before."""
from __future__ import annotations

import pytest

from shared.clickhouse.client import connect
from shared.clickhouse.layout import parse_table, place
from shared.clickhouse.schema import all_tables, apply, available, layout_of
from tests.conftest import ClickHouseCluster, settings_for

pytestmark = pytest.mark.clickhouse
DB = "threadmove"
OLD_COLUMNS = ["root_id", "owner", "replies", "max_depth", "participants", "owner_replies", "first_reply_at",
               "last_reply_at", "h_index", "shares", "likes", "version"]


def old_row(root: str, owner: str | None, replies: int, version: int) -> list:
    return [root, owner, replies, 1, 1, 0, 1_000, 2_000 + replies, 1, 0, 0, version]


def test_stored_conversations_move_under_their_owner(clickhouse_target):
    settings = settings_for(clickhouse=clickhouse_target, clickhouse_database=DB)
    sharded = isinstance(clickhouse_target, ClickHouseCluster)
    nodes = [connect(settings, url=n.url) for n in clickhouse_target.nodes] if sharded else [connect(settings)]
    for node in nodes:
        node.command(f"DROP DATABASE IF EXISTS {DB} SYNC")
    apply(settings)
    # As before 0003a: thread_rows as 0003 makes it, holding rows, and 0003a not yet run.
    old = next(m for m in available() if m.name.startswith("0003_"))
    [create] = [s for s in old.parsed if (t := parse_table(s)) and t.name == "thread_rows"]
    for statement in place(create, layout_of(settings), all_tables()):
        for node in nodes:
            node.command(statement.replace("{db}", DB))
    rows = [old_row(f"r{n}", None, 1, 10 + n) for n in range(30)]  # older versions, owner unknown
    rows += [old_row(f"r{n}", f"owner-{n % 7}" if n % 5 else None, 2, 100 + n) for n in range(30)]
    nodes[0].insert(f"{DB}.thread_rows", rows, column_names=OLD_COLUMNS)
    if sharded:
        nodes[0].command(f"SYSTEM FLUSH DISTRIBUTED {DB}.thread_rows")
    moved = ["0003a_thread_rows_by_owner.sql", "0003b_drop_thread_rows.sql"]
    for node in nodes:
        node.command(f"DELETE FROM {DB}.schema_migrations WHERE name IN {{moved:Array(String)}}",
                     parameters={"moved": moved})

    # As a run stopped after 0003a's statements, before it was recorded: it runs again.
    interrupted = next(m for m in available() if m.name == moved[0])
    for statement in interrupted.statements(DB, layout_of(settings), all_tables()):
        for node in nodes:
            node.command(statement)

    assert set(moved) <= set(apply(settings))

    expected = sorted((f"r{n}", f"owner-{n % 7}" if n % 5 else None, 2) for n in range(30))
    assert sorted(nodes[0].query(f"SELECT root_id, owner, replies FROM {DB}.threads").result_rows) == expected
    for node in nodes:
        assert not node.query(f"EXISTS TABLE {DB}.thread_rows").first_row[0]
    if sharded:  # every conversation of an owner on one shard
        held = [dict(node.query(f"SELECT owner_key, count() FROM {DB}.thread_rows_by_owner_local GROUP BY owner_key")
                     .result_rows) for node in nodes]
        assert all(held) and not set(held[0]) & set(held[1])
    for node in nodes:
        node.command(f"DROP DATABASE IF EXISTS {DB} SYNC")
