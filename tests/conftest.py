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
from services.stack.clickhouse_server import ClusterConfig
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


@dataclass
class ClickHouseCluster:
    """Servers on this machine as one cluster, a shard each (``layout.kind == "sharded"``). The
    first node is the one clients talk to; ``url`` and the credentials are its."""

    config: ClusterConfig
    nodes: list[ClickHouse]
    log_dir: Path

    url = property(lambda self: self.nodes[0].url)
    admin_user = property(lambda self: self.nodes[0].admin_user)
    admin_password = property(lambda self: self.nodes[0].admin_password)
    reader_user = property(lambda self: self.nodes[0].reader_user)
    reader_password = property(lambda self: self.nodes[0].reader_password)

    def restart(self, index: int) -> None:
        """Start a stopped node again, same home, ports and users."""
        node = self.nodes[index]
        self.nodes[index] = start_clickhouse(
            node.home, self.log_dir, node.http_port, node.tcp_port, cluster=self.config, name=f"clickhouse-{index + 1}",
            **{k: getattr(node, k) for k in ("admin_user", "admin_password", "reader_user", "reader_password")})

    def stop(self) -> None:
        for node in self.nodes:
            stop(node.running)


def start_clickhouse(home: Path, log_dir: Path, http_port: int | None = None,
                     tcp_port: int | None = None, cluster: ClusterConfig | None = None, name: str = "clickhouse",
                     **credentials: str) -> ClickHouse:
    http_port = http_port or free_port()
    tcp_port = tcp_port or free_port()
    creds = {"admin_user": "richness", "admin_password": secrets.token_urlsafe(16),
             "reader_user": "richness_reader", "reader_password": secrets.token_urlsafe(16), **credentials}
    spec = components.clickhouse(home, http_port=http_port, tcp_port=tcp_port, cluster=cluster, name=name, **creds)
    running = spawn(spec, log_dir)
    try:
        wait_healthy(spec, running)
    except BaseException:
        stop(running)
        raise
    return ClickHouse(f"http://127.0.0.1:{http_port}", http_port, tcp_port, home, running=running, **creds)


def start_clickhouse_cluster(home: Path, log_dir: Path, shards: int = 2) -> ClickHouseCluster:
    """``shards`` servers forming the cluster ``richness_test`` (same users on every node)."""
    ports = [(free_port(), free_port()) for _ in range(shards)]
    config = ClusterConfig("richness_test", secrets.token_urlsafe(16), tuple(tcp for _, tcp in ports))
    creds = {"admin_password": secrets.token_urlsafe(16), "reader_password": secrets.token_urlsafe(16)}
    cluster = ClickHouseCluster(config, [], log_dir)
    try:
        for index, (http_port, tcp_port) in enumerate(ports):
            cluster.nodes.append(start_clickhouse(home / f"node-{index + 1}", log_dir, http_port, tcp_port,
                                                  cluster=config, name=f"clickhouse-{index + 1}", **creds))
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory: pytest.TempPathFactory):
    server = start_clickhouse(tmp_path_factory.mktemp("clickhouse"), tmp_path_factory.mktemp("ch-logs"))
    try:
        yield server
    finally:
        stop(server.running)


@pytest.fixture(scope="session")
def clickhouse_cluster(tmp_path_factory: pytest.TempPathFactory):
    """Two servers as a two-shard cluster, started the first time a test asks for them."""
    cluster = start_clickhouse_cluster(tmp_path_factory.mktemp("ch-cluster"), tmp_path_factory.mktemp("ch-cluster-logs"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["one server", "two shards"])
def clickhouse_target(request: pytest.FixtureRequest):
    """The session's single server, then its two-shard cluster: a test that takes this runs on both."""
    return request.getfixturevalue("clickhouse" if request.param == "one server" else "clickhouse_cluster")


def settings_for(broker: Broker | None = None, clickhouse: ClickHouse | ClickHouseCluster | None = None,
                 **overrides) -> Settings:
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
    if isinstance(clickhouse, ClickHouseCluster):
        values.update(clickhouse_cluster=clickhouse.config.name, clickhouse_replicated=False,
                      clickhouse_nodes=[node.url for node in clickhouse.nodes])
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def kafka_settings(broker: Broker) -> Settings:
    """Settings for the session broker with fresh, test-private topic names."""
    return settings_for(broker)
