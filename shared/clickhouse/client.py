"""ClickHouse clients from settings (admin for schema and writes, reader for dashboards)."""
from __future__ import annotations

from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from shared.config import Settings


def connect(settings: Settings, *, reader: bool = False, database: str | None = None, url: str | None = None,
            **options: Any) -> Client:
    """``url``: another server than the configured one (a node of a cluster), same users."""
    user, password = (
        (settings.clickhouse_reader_user, settings.clickhouse_reader_password)
        if reader else (settings.clickhouse_user, settings.clickhouse_password)
    )
    return clickhouse_connect.get_client(
        dsn=url or settings.clickhouse_url,
        username=user,
        password=password.get_secret_value(),
        # The reader may only see the project database; the admin creates it.
        database=database or (settings.clickhouse_database if reader else "default"),
        **options,
    )
