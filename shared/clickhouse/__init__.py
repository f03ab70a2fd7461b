"""ClickHouse adapters: every access goes through clickhouse-connect."""
