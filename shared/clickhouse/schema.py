"""Schema under version control: ``migrations/NNNN_name.sql`` applied in order, idempotently.

A file runs once and is recorded in ``<db>.schema_migrations``; a file whose first line is
``-- richness: rerun`` (views: CREATE OR REPLACE only) runs on every call, so views always match
the code. ``{db}`` in the SQL is the configured database (``richness`` unless told otherwise).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from clickhouse_connect.driver.client import Client

RERUN_MARKER = "-- richness: rerun"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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

    def statements(self, database: str) -> list[str]:
        # Comments go first (they may hold any text), then statements end with ';' at a line end.
        body = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        body = body.replace("{db}", database)
        return [s.strip() for s in re.split(r";\s*$", body, flags=re.M) if s.strip()]


def available() -> list[Migration]:
    folder = resources.files("shared.clickhouse") / "migrations"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [Migration(f.name, f.read_text()) for f in files]


def migrate(client: Client, database: str = "richness") -> list[str]:
    """Apply what is missing; return the names of the files that ran."""
    if not _IDENTIFIER.match(database):
        raise ValueError(f"database name {database!r} must be a plain identifier")
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
        "(name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY name"
    )
    done = {row[0] for row in client.query(f"SELECT name FROM {database}.schema_migrations FINAL").result_rows}
    ran = []
    for migration in available():
        if migration.name in done and not migration.rerun:
            continue
        for statement in migration.statements(database):
            client.command(statement)
        client.insert(f"{database}.schema_migrations", [[migration.name, migration.checksum]],
                      column_names=["name", "checksum"])
        ran.append(migration.name)
    return ran
