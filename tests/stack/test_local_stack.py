"""`richness up/down/status` driven as a user would, through the installed command."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.stack.helpers import ch, component, richness, stack_processes, wait_for

pytestmark = pytest.mark.stack


def broker_roundtrip(bootstrap: str) -> list[bytes]:
    async def scenario():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic("stack-probe", 2, 1)])
        await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        await producer.send_and_wait("stack-probe", b"hello", key=b"k")
        await producer.stop()
        consumer = AIOKafkaConsumer("stack-probe", bootstrap_servers=bootstrap, group_id="probe",
                                    auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000)
        await consumer.start()
        try:
            async with asyncio.timeout(30):
                while True:
                    batch = await consumer.getmany(timeout_ms=500)
                    if batch:
                        return [r.value for records in batch.values() for r in records]
        finally:
            await consumer.stop()

    return asyncio.run(scenario())


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "stack"
    yield path
    richness("down", "--data-dir", str(path), check=False)


def test_up_serves_real_components_and_down_leaves_nothing(data_dir):
    out = richness("up", "--data-dir", str(data_dir)).stdout
    info = json.loads((data_dir / "stack.json").read_text())
    assert {"ingest_url", "api_key", "clickhouse_url"} <= info.keys()
    assert info["clickhouse_url"] in out and info["api_key"] in out
    assert ch(info, "SELECT version()").text.startswith("26.9")
    assert broker_roundtrip(info["kafka_bootstrap"]) == [b"hello"]
    assert richness("status", "--data-dir", str(data_dir)).returncode == 0

    again = richness("up", "--data-dir", str(data_dir), check=False)
    assert again.returncode != 0 and "already up" in again.stderr

    richness("down", "--data-dir", str(data_dir))
    assert stack_processes(data_dir) == []
    assert not (data_dir / "stack.json").exists()
    assert richness("status", "--data-dir", str(data_dir), check=False).returncode == 1


def test_clickhouse_data_survives_down_up_and_kill_9(data_dir):
    richness("up", "--data-dir", str(data_dir))
    info = json.loads((data_dir / "stack.json").read_text())
    assert ch(info, "CREATE DATABASE IF NOT EXISTS richness").status_code == 200
    ch(info, "CREATE TABLE richness.survivor (x UInt32) ENGINE = MergeTree ORDER BY x").raise_for_status()
    ch(info, "INSERT INTO richness.survivor VALUES (1), (2)").raise_for_status()

    richness("down", "--data-dir", str(data_dir))
    richness("up", "--data-dir", str(data_dir))
    info = json.loads((data_dir / "stack.json").read_text())
    assert ch(info, "SELECT sum(x) FROM richness.survivor", reader=True).text.strip() == "3"
    ch(info, "INSERT INTO richness.survivor VALUES (3)").raise_for_status()

    os.kill(component(data_dir, "clickhouse")["pid"], signal.SIGKILL)  # the supervisor restarts it
    wait_for(lambda: component(data_dir, "clickhouse")["restarts"] == 1 and component(data_dir, "clickhouse")["alive"])
    assert ch(info, "SELECT sum(x) FROM richness.survivor").text.strip() == "6"

    richness("down", "--data-dir", str(data_dir))
    assert stack_processes(data_dir) == []
    richness("up", "--data-dir", str(data_dir))
    info = json.loads((data_dir / "stack.json").read_text())
    assert ch(info, "SELECT sum(x) FROM richness.survivor").text.strip() == "6"


def test_taken_port_is_a_clear_error_and_starts_nothing(data_dir):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = richness("up", "--data-dir", str(data_dir), check=False,
                          env={"RICHNESS_STACK_CLICKHOUSE_HTTP_PORT": str(port)})
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "in use" in result.stderr
    assert stack_processes(data_dir) == [] and not (data_dir / "stack.json").exists()


def test_failing_component_stops_the_ones_already_started(data_dir):
    (data_dir / "clickhouse").mkdir(parents=True)
    (data_dir / "clickhouse" / "data").write_text("not a directory")  # the server cannot start
    result = richness("up", "--data-dir", str(data_dir), check=False)
    assert result.returncode == 1
    assert "clickhouse" in result.stderr
    assert stack_processes(data_dir) == [] and not (data_dir / "stack.json").exists()
