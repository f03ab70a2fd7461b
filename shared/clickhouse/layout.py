"""Where the tables live: one server (the default), a sharded cluster, or a replicated one.

The migration files (``migrations/*.sql``) are the one source of truth and are written for one
server. For a cluster, :func:`place` rewrites each of their statements:

- a ``*MergeTree`` table ``T`` becomes ``T_local`` on every node (``Replicated*`` with the
  ``{shard}``/``{replica}`` macros when replicated) plus ``T``, a ``Distributed`` table over it.
  The views and the sink keep using ``T``: reads fan out to the shards and merge, inserts are
  routed to the owning shard by the sharding key;
- a materialized view reads and writes the local tables (it fires on the node that stores the row);
- a view may read ``{db}.T{local}`` in a sub-query: on a cluster, T's local table, so that each
  shard evaluates it over its own rows, which is right only where T is sharded like the table the
  view reads around it (on one server, plainly T);
- views, ``ALTER``s and ``DROP``s follow their tables (an ``ALTER`` of projections or MergeTree
  settings only the local one: a Distributed table has no parts); ``INSERT … SELECT`` (filling a
  new table from stored rows) runs on each node over its own rows — into its local table when
  sharded alike, else through the Distributed table, which sends each row to its shard — or once
  through the Distributed tables when replicated; with replication every statement runs
  ``ON CLUSTER``, without it the runner runs each statement on every node before the next.

Sharding. ReplacingMergeTree deduplicates only within a shard, so every version of a row must
land on the same shard: the sharding key is ``cityHash64`` of columns of the table's ``ORDER BY``
(its identity), never of a column that can change for a key. By default all of them; a
``-- richness: shard by col[, col]`` line just above ``CREATE TABLE`` picks fewer (e.g. the
account, so that every figure of one account lives on one shard). A directive naming a column
outside the sorting key is refused: that row could be left behind on another shard. A column may
be written ``hex(col)``: the key is then ``cityHash64(hex(col))``, which ClickHouse can narrow to
one shard from a filter ``hex(col) IN ('…')`` (the dashboards' form: Grafana can quote hex values
safely, not arbitrary names), as well as from ``col = '…'``.

A statement of another kind is refused with its text, rather than placed wrongly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

LOCAL_SUFFIX = "_local"
SHARD_LOCAL = "{local}"  # after a table's name in a view: that shard's own rows (see the docstring)
SHARD_DIRECTIVE = re.compile(r"^--\s*richness:\s*shard by\s+(.+?)\s*$")
_NAME = r"\{db\}\.(\w+)"
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

# What a Distributed table does with inserts for a shard that is not the local one: they are kept
# on the receiving node's disk (fsynced: the sink commits its Kafka offsets once the insert is
# acknowledged) and sent in the background, retried every few seconds while the shard is down.
DISTRIBUTED_SETTINGS = "fsync_after_insert = 1, fsync_directories = 1, background_insert_max_sleep_time_ms = 5000"


class LayoutError(ValueError):
    """A statement of the migrations that cannot be placed on a cluster."""


@dataclass(frozen=True)
class Layout:
    """``cluster``: the name of a cluster in the servers' ``remote_servers`` (None: one server).
    ``replicated``: ``Replicated*`` engines and ``ON CLUSTER`` DDL (needs ClickHouse Keeper);
    otherwise plain engines, and the schema is applied on each node in turn."""

    cluster: str | None = None
    replicated: bool = False

    def __post_init__(self) -> None:
        if self.cluster is not None and not _CLUSTER_NAME.match(self.cluster):
            raise ValueError(f"cluster name {self.cluster!r}: letters, digits, '_', '.', '-' only")
        if self.replicated and self.cluster is None:
            raise ValueError("replication needs a cluster")

    @property
    def kind(self) -> str:
        return "single" if self.cluster is None else "replicated" if self.replicated else "sharded"

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER '{self.cluster}'" if self.replicated else ""


SINGLE = Layout()


@dataclass(frozen=True)
class Statement:
    """One statement of a migration file, ``{db}`` not yet substituted, with its directive."""

    sql: str
    shard_by: tuple[str, ...] | None = None


def split(sql: str, source: str = "migration") -> list[Statement]:
    """Statements end with ';' at a line end; comment lines are dropped (they may hold any text),
    except a shard directive, which belongs to the statement that follows it."""
    statements: list[Statement] = []
    lines: list[str] = []
    shard_by: tuple[str, ...] | None = None
    for line in sql.splitlines():
        stripped = line.strip()
        if stripped.startswith("--"):
            directive = SHARD_DIRECTIVE.match(stripped)
            if directive:
                shard_by = tuple(c.strip() for c in directive.group(1).split(","))
            continue
        lines.append(line)
        if re.search(r";\s*$", line):
            text = "\n".join(lines).strip()
            statements.append(Statement(text[:text.rindex(";")].strip(), shard_by))
            lines, shard_by = [], None
    rest = "\n".join(lines).strip()
    if rest:
        statements.append(Statement(rest, shard_by))
    for statement in statements:
        if statement.shard_by is not None and not re.match(r"CREATE TABLE\b", statement.sql, re.I):
            raise LayoutError(f"{source}: a shard directive must stand just above CREATE TABLE, not above: "
                              f"{_first_line(statement.sql)}")
    return [s for s in statements if s.sql]


# --- tables of the migrations ------------------------------------------------------------------

_CREATE_TABLE = re.compile(
    r"^CREATE TABLE (?:IF NOT EXISTS )?" + _NAME + r"\s*(\(.*\))\s*ENGINE\s*=\s*(\w+)\s*(?:\((.*?)\))?\s*(.*)$",
    re.S | re.I)


@dataclass(frozen=True)
class Table:
    name: str
    columns: str      # "( ... )" as written
    engine: str       # e.g. ReplacingMergeTree
    engine_args: str  # e.g. "version" ("" when none)
    rest: str         # PARTITION BY / ORDER BY / SETTINGS ...
    shard_by: tuple[str, ...]

    @property
    def sharding_key(self) -> str:
        return f"cityHash64({', '.join(self.shard_by)})"


_HEX_OF = re.compile(r"^hex\((\w+)\)$", re.I)


def key_column(expression: str) -> str:
    """The column an entry of a shard directive reads: ``col`` or ``hex(col)``."""
    found = _HEX_OF.match(expression)
    return found.group(1) if found else expression


def sorting_key(rest: str) -> tuple[str, ...]:
    """The expressions of ``ORDER BY x`` or ``ORDER BY (x, f(y), ...)``, as written."""
    found = re.search(r"\bORDER BY\s+", rest, re.I)
    if not found:
        return ()
    text = rest[found.end():]
    if not text.startswith("("):
        return (re.match(r"[^\s]+", text).group(0),)
    parts, depth, current = [], 0, ""
    for char in text[1:]:
        if char == ")" and depth == 0:
            break
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return tuple(p for p in [*parts, current.strip()] if p)


def parse_table(statement: Statement, source: str = "migration") -> Table | None:
    """The MergeTree table a ``CREATE TABLE`` makes (None for another statement or engine)."""
    found = _CREATE_TABLE.match(statement.sql)
    if not found or not found.group(3).endswith("MergeTree"):
        if statement.shard_by is not None:
            raise LayoutError(f"{source}: only a MergeTree table can be sharded: {_first_line(statement.sql)}")
        return None
    name, columns, engine, args, rest = found.groups()
    order_by = sorting_key(rest)
    if not order_by:
        raise LayoutError(f"{source}: {name} has no ORDER BY: it has no identity to shard by")
    shard_by = statement.shard_by or order_by
    outside = [c for c in shard_by if key_column(c) not in order_by]
    if outside:
        raise LayoutError(f"{source}: {name} is shard by {', '.join(outside)}, outside its ORDER BY "
                          f"({', '.join(order_by)}): a row whose key stays could move to another shard")
    return Table(name, columns, engine, (args or "").strip(), rest.strip(), shard_by)


def catalogue(statements: list[Statement], source: str = "migrations") -> dict[str, Table]:
    """Every MergeTree table the migrations create, by name (the last definition wins)."""
    tables = {}
    for statement in statements:
        table = parse_table(statement, source)
        if table:
            tables[table.name] = table
    return tables


# --- placing statements ------------------------------------------------------------------------

def place(statement: Statement, layout: Layout, tables: dict[str, Table], source: str = "migration") -> list[str]:
    """The statements that do on ``layout`` what ``statement`` does on one server (``{db}`` kept)."""
    sql = statement.sql
    if layout.cluster is None:
        return [sql.replace(SHARD_LOCAL, "")]
    on = layout.on_cluster
    if found := re.match(r"^CREATE DATABASE (IF NOT EXISTS )?(\{db\})$", sql, re.I):
        return [f"CREATE DATABASE {found.group(1) or ''}{{db}}{on}"]
    if re.match(r"^CREATE TABLE\b", sql, re.I):
        table = parse_table(statement, source)
        if table is None:
            raise LayoutError(f"{source}: only MergeTree tables can be placed on a cluster: {_first_line(sql)}")
        return _sharded_table(table, layout)
    if found := re.match(r"^CREATE MATERIALIZED VIEW (IF NOT EXISTS )?" + _NAME + r"\s+TO\s+" + _NAME
                         + r"\s+AS\s+(.*)$", sql, re.S | re.I):
        exists, view, target, select = found.groups()
        return [f"CREATE MATERIALIZED VIEW {exists or ''}{{db}}.{view}{on} TO {{db}}.{_local(target, tables)} "
                f"AS {_to_local(select, tables)}"]
    if found := re.match(r"^CREATE (OR REPLACE )?VIEW (IF NOT EXISTS )?" + _NAME + r"\s+AS\s+(.*)$", sql, re.S | re.I):
        replace, exists, view, select = found.groups()
        return [f"CREATE {replace or ''}VIEW {exists or ''}{{db}}.{view}{on} AS {_shard_local(select, tables, source)}"]
    if found := re.match(r"^ALTER TABLE " + _NAME + r"\s+(.*)$", sql, re.S | re.I):
        name, action = found.groups()
        names = [name + LOCAL_SUFFIX, name] if name in tables else [name]
        if name in tables and _STORAGE_ONLY.match(action):
            names = [name + LOCAL_SUFFIX]  # projections and MergeTree settings: where the parts are
        return [f"ALTER TABLE {{db}}.{n}{on} {action}" for n in names]
    if found := re.match(r"^INSERT INTO " + _NAME + r"\s+(SELECT\b.*)$", sql, re.S | re.I):
        return _insert_select(*found.groups(), layout, tables, source)
    if found := re.match(r"^DROP (TABLE|VIEW) (IF EXISTS )?" + _NAME + r"$", sql, re.I):
        kind, exists, name = found.groups()
        names = [name, name + LOCAL_SUFFIX] if kind.upper() == "TABLE" and name in tables else [name]
        # SYNC: a replicated table's Keeper path is free again at once (it may be created anew).
        sync = " SYNC" if layout.replicated else ""
        return [f"DROP {kind.upper()} {exists or ''}{{db}}.{n}{on}{sync}" for n in names]
    raise LayoutError(f"{source}: no rule places this statement on a cluster (shared/clickhouse/layout.py): "
                      f"{_first_line(sql)}")


# ALTER actions about a MergeTree table's parts, which a Distributed table does not have.
_STORAGE_ONLY = re.compile(r"^(?:(?:ADD|DROP|MATERIALIZE|CLEAR) PROJECTION|MODIFY SETTING|RESET SETTING)\b", re.I)


def _insert_select(target: str, select: str, layout: Layout, tables: dict[str, Table], source: str) -> list[str]:
    """A migration that fills a table from others (e.g. a new table from rows already stored).
    Replicated: once, through the Distributed tables, which route each row to its shard. Sharded
    without replication (the runner runs it on every node): each node reads its own rows. Into
    its own part of the target when the target and every table read are sharded alike; otherwise
    through the target's Distributed table, which sends each row to its shard, then flushed, so
    the rows are in place before the next statement (the runner has made the target on every
    node before any node runs this). A read of a table that is not sharded is refused: each node
    would send all of it."""
    if target not in tables:
        raise LayoutError(f"{source}: INSERT INTO {target}: not a table of the migrations")
    if layout.replicated:
        return [f"INSERT INTO {{db}}.{target} {select}"]
    read = [name for name in re.findall(_NAME, select) if name in tables]
    if not read:
        raise LayoutError(f"{source}: INSERT INTO {target} reads no sharded table: every node would insert "
                          "the same rows")
    if all(tables[name].shard_by == tables[target].shard_by for name in read):
        return [f"INSERT INTO {{db}}.{_local(target, tables)} {_to_local(select, tables)}"]
    return [f"INSERT INTO {{db}}.{target} {_to_local(select, tables)}", f"SYSTEM FLUSH DISTRIBUTED {{db}}.{target}"]


def _sharded_table(table: Table, layout: Layout) -> list[str]:
    on, local = layout.on_cluster, table.name + LOCAL_SUFFIX
    engine, args = table.engine, table.engine_args
    if layout.replicated:
        path = f"'/clickhouse/tables/{{shard}}/{{db}}/{local}', '{{replica}}'"
        engine, args = "Replicated" + engine, path + (f", {args}" if args else "")
    local_sql = (f"CREATE TABLE IF NOT EXISTS {{db}}.{local}{on}\n{table.columns}\n"
                 f"ENGINE = {engine}{f'({args})' if args else ''}\n{table.rest}")
    distributed_sql = (f"CREATE TABLE IF NOT EXISTS {{db}}.{table.name}{on} AS {{db}}.{local}\n"
                       f"ENGINE = Distributed('{layout.cluster}', '{{db}}', '{local}', {table.sharding_key})\n"
                       f"SETTINGS {DISTRIBUTED_SETTINGS}")
    return [local_sql, distributed_sql]


def _shard_local(select: str, tables: dict[str, Table], source: str) -> str:
    """``{db}.T{local}`` → T's local table (T must be a sharded table of the migrations)."""
    def local(found: re.Match) -> str:
        if found.group(1) not in tables:
            raise LayoutError(f"{source}: {found.group(1)}{SHARD_LOCAL} is not a table of the migrations")
        return "{db}." + found.group(1) + LOCAL_SUFFIX
    return re.sub(_NAME + re.escape(SHARD_LOCAL), local, select)


def _local(name: str, tables: dict[str, Table]) -> str:
    return name + LOCAL_SUFFIX if name in tables else name


def _to_local(select: str, tables: dict[str, Table]) -> str:
    return re.sub(_NAME, lambda m: "{db}." + _local(m.group(1), tables), select)


def migrations_table(layout: Layout) -> str:
    """The runner's own record of applied files (``{db}`` kept). Replicated: one table shared by
    every node of the cluster (each node a replica of it), so any node knows what ran."""
    columns = "(name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))"
    engine = "ReplacingMergeTree"
    if layout.replicated:
        engine = "ReplicatedReplacingMergeTree('/clickhouse/richness/{db}/schema_migrations', '{shard}-{replica}')"
    return f"CREATE TABLE IF NOT EXISTS {{db}}.schema_migrations{layout.on_cluster} {columns} ENGINE = {engine} ORDER BY name"


def _first_line(sql: str) -> str:
    return sql.strip().splitlines()[0][:200] if sql.strip() else "(empty)"
