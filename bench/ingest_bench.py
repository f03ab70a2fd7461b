"""Ingest throughput benchmark (not a test): batched HTTP ingestion vs raw aiokafka produce.

Starts a private local broker and a real ingest server (``python -m services.ingest``, uvicorn on
127.0.0.1), then, alternating, several times each:

* ingest: ``--clients`` concurrent HTTP clients POST 10,000-event JSON arrays of ~200-byte
  realistic events until ``--events`` have been accepted (202, every event acknowledged by the
  broker with acks=all);
* raw produce: one aiokafka producer, configured like the ingest service's, sends the same
  events already validated and encoded as the event log's records (event batches of up to 500
  events, see shared.topics) and waits for every acknowledgement: the cost of the broker and the
  producer alone, without HTTP, validation and packing.

Prints the medians and, last, one JSON line:
{"ingest_events_per_s": ..., "raw_produce_events_per_s": ..., "ingest_ratio_to_raw_produce": ...}

    python bench/ingest_bench.py [--events 100000] [--repeats 3] [--clients 4]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import msgspec
from aiokafka import AIOKafkaProducer

from services.ingest.event_log import THROUGHPUT_OPTIONS
from services.stack import components
from services.stack.processes import Running, free_port, spawn, stop, wait_healthy
from shared.config import Settings
from shared.events import now_ms, parse_event
from shared.kafka.admin import ensure_topics
from shared.kafka.compat import producer_options
from shared.topics import event_batches

BATCH = 10_000


def realistic_events(count: int, seed: int = 7) -> list[dict]:
    """A plausible mix (clicks and replies dominate), ~200 bytes each as JSON."""
    rng = random.Random(seed)
    accounts = [f"acct_{rng.randrange(10**12):012d}" for _ in range(5000)]
    now = now_ms()
    events = []
    for _ in range(count):
        kind = rng.choices(("click", "reply", "post", "follow", "unfollow"), (40, 25, 15, 15, 5))[0]
        actor, target = rng.sample(accounts, 2)
        base = {"id": str(uuid.UUID(int=rng.getrandbits(128))), "type": kind, "ts": now - rng.randrange(86_400_000)}
        root = f"post_{rng.randrange(10**12):012d}"
        if kind in ("follow", "unfollow"):
            base.update(actor=actor, target=target)
        elif kind == "post":
            base.update(actor=actor, post_id=root)
        elif kind == "reply":
            base.update(actor=actor, post_id=f"post_{rng.randrange(10**12):012d}", parent_id=root, root_id=root)
        else:
            base.update(actor=actor if rng.random() < 0.7 else None, target=target, post_id=root,
                        url=f"https://example.org/{target}/articles/{rng.randrange(10**6)}")
        events.append(base)
    return events


def start_ingest(settings: Settings, api_key: str, log_dir: Path) -> tuple[Running, str]:
    """``python -m services.ingest`` as the local stack starts it."""
    port = free_port()
    env = {"RICHNESS_API_KEYS": api_key, "RICHNESS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "RICHNESS_KAFKA_COMPAT": settings.kafka_compat, "RICHNESS_EVENTS_TOPIC": settings.events_topic,
           "RICHNESS_FACTS_TOPIC": settings.facts_topic, "RICHNESS_DEAD_LETTER_TOPIC": settings.dead_letter_topic,
           "RICHNESS_PARTITIONS": str(settings.partitions)}
    spec = components.ingest(env, port)
    running = spawn(spec, log_dir)
    wait_healthy(spec, running)
    return running, f"http://127.0.0.1:{port}"


async def measure_ingest(url: str, api_key: str, bodies: list[bytes], total: int, clients: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for i in range(total // BATCH):
        queue.put_nowait(bodies[i % len(bodies)])
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}

    async def client() -> int:
        accepted = 0
        async with httpx.AsyncClient(timeout=120) as http:
            while not queue.empty():
                body = queue.get_nowait()
                response = await http.post(f"{url}/v1/events", content=body, headers=headers)
                if response.status_code != 202:
                    raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:200]}")
                accepted += response.json()["accepted"]
        return accepted

    started = time.perf_counter()
    accepted = sum(await asyncio.gather(*(client() for _ in range(clients))))
    elapsed = time.perf_counter() - started
    assert accepted == total // BATCH * BATCH, accepted
    return accepted / elapsed


async def measure_raw_produce(settings: Settings, records: list[tuple[int, bytes]], total: int) -> float:
    producer = AIOKafkaProducer(**producer_options(settings), **THROUGHPUT_OPTIONS)
    await producer.start()
    try:
        started = time.perf_counter()
        deliveries = [await producer.send(settings.events_topic, value, partition=partition)
                      for partition, value in records]
        await asyncio.gather(*deliveries)
        return total / (time.perf_counter() - started)
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events per measurement (multiple of 10,000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    total = max(BATCH, args.events // BATCH * BATCH)

    events = realistic_events(3 * BATCH)
    bodies = [msgspec.json.encode(events[i:i + BATCH]) for i in range(0, len(events), BATCH)]
    received = now_ms()
    validated = [parse_event(msgspec.json.encode(x), received) for x in events]
    records = event_batches([validated[i % len(validated)] for i in range(total)], args.partitions)
    print(f"{len(events)} distinct events, {len(bodies[0]) / BATCH:.0f} bytes each on average as JSON; "
          f"{total} events per measurement, {args.clients} clients, {args.partitions} partitions", flush=True)

    log_dir = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    broker_port = free_port()
    broker_spec = components.broker(broker_port)
    broker = spawn(broker_spec, log_dir)
    ingest = None
    try:
        wait_healthy(broker_spec, broker)
        suffix = secrets.token_hex(4)
        settings = Settings(kafka_bootstrap=f"127.0.0.1:{broker_port}", kafka_compat="tansu",
                            partitions=args.partitions, events_topic=f"bench-events-{suffix}",
                            facts_topic=f"bench-facts-{suffix}", dead_letter_topic=f"bench-dead-{suffix}")
        raw_settings = settings.model_copy(update={"events_topic": f"bench-raw-{suffix}"})
        asyncio.run(ensure_topics(raw_settings))
        api_key = secrets.token_urlsafe(24)
        ingest, url = start_ingest(settings, api_key, log_dir)

        ingest_rates, raw_rates = [], []
        for repeat in range(1, args.repeats + 1):
            ingest_rates.append(asyncio.run(measure_ingest(url, api_key, bodies, total, args.clients)))
            raw_rates.append(asyncio.run(measure_raw_produce(raw_settings, records, total)))
            print(f"run {repeat}: ingest {ingest_rates[-1]:>9,.0f} ev/s   raw produce {raw_rates[-1]:>9,.0f} ev/s",
                  flush=True)
    finally:
        if ingest is not None:
            stop(ingest)
        stop(broker)

    ingest_median, raw_median = statistics.median(ingest_rates), statistics.median(raw_rates)
    print(f"median: ingest {ingest_median:,.0f} ev/s, raw produce {raw_median:,.0f} ev/s, "
          f"ratio {ingest_median / raw_median:.2f} (logs in {log_dir})")
    print(json.dumps({"ingest_events_per_s": round(ingest_median), "raw_produce_events_per_s": round(raw_median),
                      "ingest_ratio_to_raw_produce": round(ingest_median / raw_median, 3)}))


if __name__ == "__main__":
    sys.exit(main())
