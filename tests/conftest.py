"""Real components for the tests: one broker and one ClickHouse per test session, started
exactly as ``richness up`` starts them (free 127.0.0.1 ports, torn down at the end).

The session broker keeps its log the way ``richness up`` does by default: durable, on a local
S3 store. ``RICHNESS_TEST_EVENT_LOG=memory`` runs the suite on the in-memory log instead."""
from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.stack import components
from services.stack.processes import Running, free_port, spawn, stop, wait_healthy
from shared.config import Settings


@dataclass
class Broker:
    bootstrap: str
    running: Running  # the broker itself
    store: Running | None = None  # its log store, when durable


@dataclass
class ClickHouse:
    url: str
    http_port: int
    tcp_port: int
    home: Path
    admin_user: str
    admin_password: str
    reader_user: str
    reader_password: str
    running: Running


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    specs = components.private_event_log(os.environ.get("RICHNESS_TEST_EVENT_LOG", "durable"),
                                         tmp_path_factory.mktemp("eventlog"), port)
    logs = tmp_path_factory.mktemp("broker-logs")
    started: list[Running] = []
    try:
        for spec in specs:
            started.append(spawn(spec, logs))
            wait_healthy(spec, started[-1])
        yield Broker(f"127.0.0.1:{port}", started[-1], started[0] if len(started) > 1 else None)
    finally:
        for spec, running in reversed(list(zip(specs, started))):
            stop(running)
            spec.after_stop()


def start_clickhouse(home: Path, log_dir: Path, http_port: int | None = None,
                     tcp_port: int | None = None, **credentials: str) -> ClickHouse:
    http_port = http_port or free_port()
    tcp_port = tcp_port or free_port()
    creds = {"admin_user": "richness", "admin_password": secrets.token_urlsafe(16),
             "reader_user": "richness_reader", "reader_password": secrets.token_urlsafe(16), **credentials}
    spec = components.clickhouse(home, http_port=http_port, tcp_port=tcp_port, **creds)
    running = spawn(spec, log_dir)
    try:
        wait_healthy(spec, running)
    except BaseException:
        stop(running)
        raise
    return ClickHouse(f"http://127.0.0.1:{http_port}", http_port, tcp_port, home, running=running, **creds)


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory: pytest.TempPathFactory):
    server = start_clickhouse(tmp_path_factory.mktemp("clickhouse"), tmp_path_factory.mktemp("ch-logs"))
    try:
        yield server
    finally:
        stop(server.running)


def settings_for(broker: Broker | None = None, clickhouse: ClickHouse | None = None, **overrides) -> Settings:
    """Settings pointing at the session's components, with topics of their own."""
    suffix = uuid.uuid4().hex[:10]
    values: dict = {
        "events_topic": f"events-{suffix}",
        "facts_topic": f"facts-{suffix}",
        "changes_topic": f"changes-{suffix}",
        "dead_letter_topic": f"dead-{suffix}",
        "partitions": 2,
    }
    if broker is not None:
        values.update(kafka_bootstrap=broker.bootstrap, kafka_compat="tansu")
    if clickhouse is not None:
        values.update(clickhouse_url=clickhouse.url, clickhouse_user=clickhouse.admin_user,
                      clickhouse_password=clickhouse.admin_password,
                      clickhouse_reader_user=clickhouse.reader_user,
                      clickhouse_reader_password=clickhouse.reader_password)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def kafka_settings(broker: Broker) -> Settings:
    """Settings for the session broker with fresh, test-private topic names."""
    return settings_for(broker)
