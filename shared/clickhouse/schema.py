"""Schema under version control: ``migrations/NNNN_name.sql`` applied in order, idempotently.

A file runs once and is recorded in ``<db>.schema_migrations``; a file whose first line is
``-- richness: rerun`` (views: CREATE OR REPLACE only) runs on every call, so views always match
the code. ``{db}`` in the SQL is the configured database (``richness`` unless told otherwise).
A recorded file whose text has changed since it ran is not run again: its checksum differs from
the record's, and a warning names it (a change to a table belongs in a new file).

The files are written for one server; ``shared.clickhouse.layout`` places the same statements on
a cluster (``RICHNESS_CLICKHOUSE_CLUSTER``): :func:`apply` picks the layout from the settings.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

from clickhouse_connect.driver.client import Client

from shared.clickhouse.client import connect
from shared.config import Settings, check_database_name
from shared.clickhouse.layout import SINGLE, Layout, Statement, Table, catalogue, migrations_table, place, split

RERUN_MARKER = "-- richness: rerun"
log = logging.getLogger("richness.schema")


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def rerun(self) -> bool:
        return self.sql.startswith(RERUN_MARKER)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @cached_property
    def parsed(self) -> list[Statement]:
        return split(self.sql, self.name)

    def statements(self, database: str, layout: Layout = SINGLE, tables: dict[str, Table] | None = None) -> list[str]:
        """The file's statements for ``layout``; ``tables``: every table the migrations create
        (what a cluster layout needs to know which names are sharded)."""
        tables = tables if tables is not None else all_tables()
        placed = [sql for statement in self.parsed for sql in place(statement, layout, tables, self.name)]
        return [sql.replace("{db}", database) for sql in placed]


def available() -> list[Migration]:
    folder = resources.files("shared.clickhouse") / "migrations"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [Migration(f.name, f.read_text()) for f in files]


def all_tables(migrations: list[Migration] | None = None) -> dict[str, Table]:
    return catalogue([s for m in (migrations or available()) for s in m.parsed])


def migrate(client: Client | list[Client], database: str = "richness", layout: Layout = SINGLE) -> list[str]:
    """Apply what is missing through ``client``; return the names of the files that ran. Several
    clients (a cluster without replication, one per node, see :func:`apply`): each statement
    runs on every node that lacks the file before the next statement runs anywhere, as ``ON
    CLUSTER`` would — so a statement may rely on every node having done the ones before it (a
    table filled from rows of every shard needs the table on every shard first)."""
    check_database_name(database)
    clients = client if isinstance(client, list) else [client]
    done: list[dict[str, str]] = []  # per node: file name -> checksum recorded when it ran
    for node in clients:
        node.command(f"CREATE DATABASE IF NOT EXISTS {database}{layout.on_cluster}")
        node.command(migrations_table(layout).replace("{db}", database))
        done.append(dict(node.query(f"SELECT name, checksum FROM {database}.schema_migrations FINAL").result_rows))
    migrations = available()
    tables = all_tables(migrations)
    _report_edited(migrations, done, database)
    ran = []
    for migration in migrations:
        pending = [node for node, names in zip(clients, done) if migration.rerun or migration.name not in names]
        if not pending:
            continue
        for statement in migration.statements(database, layout, tables):
            for node in pending:
                node.command(statement)
        for node in pending:
            node.insert(f"{database}.schema_migrations", [[migration.name, migration.checksum]],
                        column_names=["name", "checksum"])
        ran.append(migration.name)
    return ran


def _report_edited(migrations: list[Migration], done: list[dict[str, str]], database: str) -> None:
    """Warn about files recorded as run whose text has changed since: the database keeps what the
    earlier text made (a database built by an earlier release, or a file edited in place)."""
    for migration in migrations:
        earlier = {names[migration.name] for names in done if migration.name in names} - {migration.checksum}
        if earlier and not migration.rerun:
            log.warning("migration %s has changed since it ran on %s (recorded checksum %s, file %s); it is not "
                        "run again: put a change to the schema in a new migration file", migration.name, database,
                        ", ".join(sorted(c[:12] for c in earlier)), migration.checksum[:12])


def layout_of(settings: Settings) -> Layout:
    """The layout the settings describe (``RICHNESS_CLICKHOUSE_CLUSTER``, ``_REPLICATED``)."""
    if not settings.clickhouse_cluster:
        return SINGLE
    return Layout(settings.clickhouse_cluster, settings.clickhouse_replicated)


def apply(settings: Settings) -> list[str]:
    """The schema where the settings say: one server, every node of a cluster without
    replication (``RICHNESS_CLICKHOUSE_NODES``), or ``ON CLUSTER`` through the configured server."""
    layout = layout_of(settings)
    if layout.kind != "sharded":
        return migrate(connect(settings), settings.clickhouse_database, layout)
    if not settings.clickhouse_nodes:
        raise ValueError(f"cluster {layout.cluster!r} without replication: set RICHNESS_CLICKHOUSE_NODES to the "
                         "HTTP URL of every node (the schema is applied on each), or RICHNESS_CLICKHOUSE_REPLICATED=true")
    return migrate([connect(settings, url=url) for url in settings.clickhouse_nodes], settings.clickhouse_database,
                   layout)
