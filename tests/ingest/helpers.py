"""Helpers for the ingest tests: a real ingest server, reading the events topic, sample events."""
from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

import httpx
import msgspec
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from pydantic import SecretStr

from services.ingest.server import IngestServer
from shared.config import Settings
from shared.events import Event
from shared.topics import decode_event_batch

API_KEY = "test-key-0123456789"
NOW_MS = int(time.time() * 1000)  # at collection: only for values whose validity cannot change later
DELETE = object()


@dataclass(frozen=True)
class Record:
    value: bytes
    partition: int


@dataclass
class Ingest:
    settings: Settings
    url: str
    client: httpx.Client

    def post(self, body: Any = None, *, content: bytes | None = None, headers: dict[str, str] | None = None,
             key: str | None = API_KEY) -> httpx.Response:
        """POST /v1/events with a JSON-encoded ``body`` or raw ``content``."""
        if content is None:
            content = msgspec.json.encode(body)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["Authorization"] = f"Bearer {key}"
        return self.client.post("/v1/events", content=content, headers=all_headers)

    def records(self) -> list[Record]:
        return read_topic(self.settings)

    def events(self) -> list[Event]:
        """Every event in the topic (its records are event batches, see shared.topics)."""
        return [event for record in self.records() for event in decode_event_batch(record.value)]


@contextlib.contextmanager
def running_ingest(settings: Settings) -> Iterator[Ingest]:
    """The real server (uvicorn + event log) in a thread with its own event loop."""
    server = IngestServer(settings, access_log=False)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            failure.append(exc)

    thread = threading.Thread(target=run, name="ingest-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if failure:
            raise failure[0]
        assert time.monotonic() < deadline, "ingest server did not start"
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield Ingest(settings, server.url, client)
    finally:
        server.request_exit()
        thread.join(timeout=30)


def ingest_settings(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(update={"api_keys": [SecretStr(API_KEY)], "ingest_port": 0, **overrides})


def read_topic(settings: Settings, timeout_s: float = 30) -> list[Record]:
    """Every record of the events topic, up to each partition's high watermark as reported by
    Fetch (the broker's ListOffsets end is unreliable on Tansu, see shared.kafka.compat)."""

    async def read() -> list[Record]:
        tps = [TopicPartition(settings.events_topic, p) for p in range(settings.partitions)]
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest", fetch_max_wait_ms=20)
        await consumer.start()
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            records: list[Record] = []
            async with asyncio.timeout(timeout_s):
                while not await _caught_up(consumer, tps):
                    for batch in (await consumer.getmany(timeout_ms=100)).values():
                        records.extend(Record(r.value, r.partition) for r in batch)
            return records
        finally:
            await consumer.stop()

    return asyncio.run(read())


async def _caught_up(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> bool:
    for tp in tps:
        highwater = consumer.highwater(tp)
        if highwater is None or await consumer.position(tp) < highwater:
            return False
    return True


def event(kind: str = "post", **fields: Any) -> dict[str, Any]:
    """A valid event of the given type; ``fields`` override its fields (``DELETE`` removes one)."""
    base: dict[str, dict[str, Any]] = {
        "follow": {"actor": "sharon", "target": "ameena"},
        "unfollow": {"actor": "sharon", "target": "ameena"},
        "post": {"actor": "ameena", "post_id": "p1"},
        "reply": {"actor": "robert", "post_id": "r1", "parent_id": "p1", "root_id": "p1"},
        "click": {"target": "ameena", "actor": None, "post_id": "p1", "url": "https://example.org/a"},
        "share": {"actor": "robert", "target": "ameena", "post_id": "p1", "url": "https://example.org/p1"},
        "like": {"actor": "robert", "target": "ameena", "post_id": "p1"},
        "conversion": {"target": "ameena", "order_id": "o1", "value": 19.99, "actor": "sharon", "post_id": "p1",
                       "url": "https://shop.example.org/o1", "currency": "USD"},
        "refund": {"order_id": "o1", "value": 5.5, "actor": "sharon"},
    }
    result: dict[str, Any] = {"id": f"{kind}-{time.perf_counter_ns()}", "type": kind, "ts": NOW_MS - 60_000,
                              **base[kind]}
    for name, value in fields.items():
        if value is DELETE:
            result.pop(name, None)
        else:
            result[name] = value
    return result

