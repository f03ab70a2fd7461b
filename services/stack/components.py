"""The local stack's components: how each is started and how its health is checked."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx

from services.stack.clickhouse_server import write_config
from services.stack.processes import Spec, python_module, tansu_binary


def broker(port: int) -> Spec:
    """Tansu, Kafka-compatible, in memory, on 127.0.0.1 only."""
    url = f"tcp://127.0.0.1:{port}"
    return Spec(
        name="broker",
        argv=[str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
              "--storage-engine", "memory://tansu/"],
        env={"RUST_LOG": "warn"},
        healthy=lambda: broker_ready(f"127.0.0.1:{port}"),
        start_timeout_s=30,
        stop_timeout_s=10,
    )


def broker_ready(bootstrap: str) -> bool:
    """The broker answers a metadata request."""
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415 - keeps CLI start-up light

    # Refused connections are expected while the broker starts; they are not news to the user.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        await admin.start()
        try:
            await admin.list_topics()
            return True
        finally:
            await admin.close()

    return asyncio.run(probe())


def clickhouse(home: Path, *, http_port: int, tcp_port: int, admin_user: str, admin_password: str,
               reader_user: str, reader_password: str) -> Spec:
    """ClickHouse 26.9 (chdb-core's engine) serving HTTP and native TCP on 127.0.0.1."""
    write_config(home, http_port=http_port, tcp_port=tcp_port, admin_user=admin_user,
                 admin_password=admin_password, reader_user=reader_user, reader_password=reader_password)
    url = f"http://127.0.0.1:{http_port}"
    return Spec(
        name="clickhouse",
        argv=python_module("services.stack.clickhouse_server", "--home", str(home)),
        healthy=lambda: clickhouse_ready(url, admin_user, admin_password),
        start_timeout_s=60,
        stop_timeout_s=20,
    )


def clickhouse_ready(url: str, user: str, password: str) -> bool:
    response = httpx.post(url, content=b"SELECT 1", auth=(user, password), timeout=3)
    return response.status_code == 200 and response.text.strip() == "1"


def processor(stage: str, env: dict[str, str], metrics_port: int, state_dir: Path, name: str | None = None) -> Spec:
    """A worker of one processor stage (``events``: "processor"; ``accounts``: "accounts"), with
    its RocksDB state in ``state_dir`` (a directory per worker: RocksDB files are locked)."""
    name = name or ("processor" if stage == "events" else "accounts")
    return worker(name, "services.processor", {**env, "RICHNESS_STATE_DIR": str(state_dir)}, metrics_port,
                  "--stage", stage)


def http_ready(url: str) -> bool:
    return httpx.get(url, timeout=3).status_code == 200


def ingest(env: dict[str, str], port: int) -> Spec:
    return Spec(name="ingest", argv=python_module("services.ingest"),
                env={**env, "RICHNESS_INGEST_HOST": "127.0.0.1", "RICHNESS_INGEST_PORT": str(port)},
                healthy=lambda: http_ready(f"http://127.0.0.1:{port}/readyz"), start_timeout_s=60)


def worker(name: str, module: str, env: dict[str, str], metrics_port: int, *args: str) -> Spec:
    """A processor or sink: healthy once its Prometheus endpoint answers."""
    return Spec(name=name, argv=python_module(module, *args),
                env={**env, "RICHNESS_METRICS_HOST": "127.0.0.1", "RICHNESS_METRICS_PORT": str(metrics_port)},
                healthy=lambda: http_ready(f"http://127.0.0.1:{metrics_port}/metrics"), start_timeout_s=90,
                stop_timeout_s=30)
