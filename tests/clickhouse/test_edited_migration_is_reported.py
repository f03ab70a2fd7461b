"""A migration file changed after it ran is reported by name and not run again; the checksum
recorded with each file was written and never read before."""
from __future__ import annotations

import logging

import pytest

from shared.clickhouse.client import connect
from shared.clickhouse.schema import available, migrate
from tests.conftest import settings_for

pytestmark = pytest.mark.clickhouse
DB = "edited_migration"


def test_a_changed_file_is_named_and_not_run_again(clickhouse, caplog):
    client = connect(settings_for(clickhouse=clickhouse, clickhouse_database=DB))
    client.command(f"DROP DATABASE IF EXISTS {DB} SYNC")
    assert migrate(client, DB)  # every file ran
    first = next(m for m in available() if not m.rerun)
    client.insert(f"{DB}.schema_migrations", [[first.name, "0" * 64]], column_names=["name", "checksum"])

    with caplog.at_level(logging.WARNING, logger="richness.schema"):
        ran = migrate(client, DB)

    assert first.name not in ran
    assert all(m.rerun for m in available() if m.name in ran)
    [warning] = [r.getMessage() for r in caplog.records if r.name == "richness.schema"]
    assert first.name in warning and "000000000000" in warning


def test_unchanged_files_raise_no_warning(clickhouse, caplog):
    client = connect(settings_for(clickhouse=clickhouse, clickhouse_database=DB))
    client.command(f"DROP DATABASE IF EXISTS {DB} SYNC")
    migrate(client, DB)
    with caplog.at_level(logging.WARNING, logger="richness.schema"):
        migrate(client, DB)
    assert not [r for r in caplog.records if r.name == "richness.schema"]
