"""Regression: the read-only user of the embedded ClickHouse could read only a database named
``richness``, whatever ``RICHNESS_CLICKHOUSE_DATABASE`` said (the grant was written literally)."""
from __future__ import annotations

import secrets

import pytest

from services.stack import components
from services.stack.clickhouse_server import write_config
from services.stack.processes import free_port, spawn, stop, wait_healthy
from shared.clickhouse.client import connect
from shared.config import Settings

pytestmark = pytest.mark.clickhouse


def test_the_reader_reads_the_configured_database_and_no_other(tmp_path):
    creds = {"admin_user": "richness", "admin_password": secrets.token_urlsafe(16),
             "reader_user": "richness_reader", "reader_password": secrets.token_urlsafe(16)}
    http_port = free_port()
    spec = components.clickhouse(tmp_path / "home", http_port=http_port, tcp_port=free_port(),
                                 database="analytics", **creds)
    running = spawn(spec, tmp_path)
    try:
        wait_healthy(spec, running)
        settings = Settings(clickhouse_url=f"http://127.0.0.1:{http_port}", clickhouse_user=creds["admin_user"],
                            clickhouse_password=creds["admin_password"], clickhouse_reader_user=creds["reader_user"],
                            clickhouse_reader_password=creds["reader_password"], clickhouse_database="analytics")
        admin = connect(settings)
        for database in ("analytics", "richness"):
            admin.command(f"CREATE DATABASE IF NOT EXISTS {database}")
            admin.command(f"CREATE TABLE IF NOT EXISTS {database}.probe (x UInt8) ENGINE = MergeTree ORDER BY x")
        reader = connect(settings, reader=True)
        assert reader.query("SELECT count() FROM analytics.probe").result_rows == [(0,)]
        with pytest.raises(Exception, match="Not enough privileges|ACCESS_DENIED"):
            reader.query("SELECT count() FROM richness.probe")
    finally:
        stop(running)


def test_a_database_name_that_is_not_an_identifier_is_refused(tmp_path):
    with pytest.raises(ValueError, match="plain identifier"):
        write_config(tmp_path, http_port=1, tcp_port=2, admin_user="a", admin_password="p", reader_user="r",
                     reader_password="q", database="x.*</query><query>GRANT ALL ON *.*")
