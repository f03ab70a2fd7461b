"""One measurement per function; each returns a rate (per second) or seconds.

Every stage runs the project's real processes (started as ``richness up`` starts them) on a
private broker and ClickHouse, and its baseline is the raw client doing the same transfer on the
same machine in the same run.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from services.bench.workload import encode_json
from services.ingest.event_log import THROUGHPUT_OPTIONS
from services.stack import components, probe
from services.stack.processes import Running, Spec, free_port, spawn, stop, wait_healthy
from shared.clickhouse.client import connect
from shared.config import Settings
from shared.events import encode_event, now_ms, parse_event
from shared.kafka.compat import producer_options
from shared.kafka.events_topic import produce_events
from shared.topics import routing_key

HTTP_BATCH = 10_000


@dataclass
class Service:
    spec: Spec
    running: Running

    def metrics_url(self) -> str:
        port = self.spec.env.get("RICHNESS_METRICS_PORT") or self.spec.env["RICHNESS_INGEST_PORT"]
        return f"http://127.0.0.1:{port}/metrics"

    def samples(self) -> list[Sample]:
        """Every sample on the service's /metrics, read once."""
        families = text_string_to_metric_families(probe.get(self.metrics_url(), 10).text)
        return [sample for family in families for sample in family.samples]

    def sample(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples (of those with ``labels``) on the service's /metrics."""
        return total_of(self.samples(), name, **labels)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the service's process has used so far."""
        fields = Path(f"/proc/{self.running.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.running.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def total_of(samples: list[Sample], name: str, **labels: str) -> float:
    """Sum of the samples of metric ``name`` that carry ``labels``."""
    return sum(sample.value for sample in samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def start(spec: Spec, log_dir: Path) -> Service:
    running = spawn(spec, log_dir)
    wait_healthy(spec, running)
    return Service(spec, running)


def validated(events: list[dict]) -> list:
    received = now_ms()
    return [parse_event(encode_json(e), received) for e in events]


# --- ingest ---------------------------------------------------------------------------------

async def ingest_rate(url: str, api_key: str, events: list[dict], clients: int = 4) -> float:
    """Events/s accepted by the ingest API from concurrent clients posting 10,000-event arrays."""
    bodies = [encode_json(events[i:i + HTTP_BATCH]) for i in range(0, len(events), HTTP_BATCH)]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}

    async def client() -> int:
        accepted = 0
        async with httpx.AsyncClient(timeout=120) as http:
            while not queue.empty():
                response = await http.post(f"{url}/v1/events", content=queue.get_nowait(), headers=headers)
                if response.status_code != 202:
                    raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:200]}")
                accepted += response.json()["accepted"]
        return accepted

    started = time.perf_counter()
    accepted = sum(await asyncio.gather(*(client() for _ in range(clients))))
    return accepted / (time.perf_counter() - started)


async def raw_produce_rate(settings: Settings, events: list, packed: bool) -> float:
    """Events/s of one aiokafka producer (acks=all) sending already-validated events, either one
    record per event (what a plain producer does) or packed as the event log stores them."""
    producer = AIOKafkaProducer(**producer_options(settings), **THROUGHPUT_OPTIONS)
    await producer.start()
    try:
        started = time.perf_counter()
        if packed:
            deliveries = await produce_events(producer, settings.events_topic, events)
        else:
            deliveries = [await producer.send(settings.events_topic, encode_event(e), key=routing_key(e))
                          for e in events]
        await asyncio.gather(*deliveries)
        return len(events) / (time.perf_counter() - started)
    finally:
        await producer.stop()


# --- processor ------------------------------------------------------------------------------

async def fill_events_topic(settings: Settings, events: list) -> None:
    producer = AIOKafkaProducer(**producer_options(settings), **THROUGHPUT_OPTIONS)
    await producer.start()
    try:
        await asyncio.gather(*await produce_events(producer, settings.events_topic, events))
    finally:
        await producer.stop()


@dataclass(frozen=True)
class ProcessorRun:
    events_per_s: float
    peak_rss_mb: float  # of the larger worker
    # Both workers' CPU time per event over the same steps as the rate: what the processor costs
    # whatever else shares the machine (two cores can give at most 2 / this events per µs).
    cpu_us_per_event: float


def processor_rate(settings: Settings, total: int, log_dir: Path) -> ProcessorRun:
    """The processor — one worker of each stage — working off a full events topic, until the
    account rules have applied every change the event rules sent. The rate comes from the workers'
    own counters, between their first and their last step (see ``counter_rate``)."""
    env, state = settings.to_env(), log_dir.parent / f"state-{settings.group_prefix}"
    events = start(components.processor("events", env, free_port(), state / "events"), log_dir)
    accounts = start(components.processor("accounts", env, free_port(), state / "accounts"), log_dir)
    cpu: list[tuple[float, float]] = []  # (events done, both workers' CPU seconds) from the first step on
    try:
        def progress(_: Service) -> tuple[float, bool]:
            seen = events.samples()  # one look at its /metrics for both figures
            done = total_of(seen, "richness_processor_inputs_total", stage="events")
            sent = total_of(seen, "richness_processor_changes_total")
            caught_up = accounts.sample("richness_processor_inputs_total", stage="accounts") >= sent
            if done:
                cpu.append((done, events.cpu_seconds() + accounts.cpu_seconds()))
            return done, caught_up

        rate = counter_rate(events, total, progress)
        (done_first, cpu_first), (done_last, cpu_last) = cpu[0], cpu[-1]
        return ProcessorRun(rate, max(events.peak_rss_mb(), accounts.peak_rss_mb()),
                            (cpu_last - cpu_first) / (done_last - done_first) * 1e6)
    finally:
        stop(accounts.running)
        stop(events.running)


def counter_rate(service: Service, total: float, progress, timeout_s: float = 1800) -> float:
    """Per-second rate of a service's work between its first and its last step, without its
    start-up and group join. ``progress(service)`` -> (inputs done, caught up). Needs at least two
    steps (batches): the first one's work is not counted, so more steps measure more precisely."""
    steps: list[tuple[float, float]] = []
    deadline = time.monotonic() + timeout_s
    metric = getattr(progress, "__name__", "progress")
    while time.monotonic() < deadline:
        value, caught_up = progress(service)
        if value and (not steps or value != steps[-1][1]):
            steps.append((time.perf_counter(), value))
        if value >= total and caught_up:
            steps[-1] = (time.perf_counter(), value)
            if len(steps) < 2:
                raise RuntimeError(f"{service.spec.name} did all {total:,.0f} in {len(steps)} steps: "
                                   "measure with more events")
            (t0, v0), (t1, v1) = steps[0], steps[-1]
            return (v1 - v0) / (t1 - t0)
        time.sleep(0.1)  # each look costs the service a /metrics answer
    raise RuntimeError(f"{service.spec.name} did not reach {total:,.0f} {metric} in {timeout_s:.0f} s; "
                       f"see {service.running.log}")


async def raw_consume_rate(settings: Settings, total: int) -> float:
    """Events/s of a plain aiokafka consumer reading the same topic and decoding every event."""
    from shared.topics import decode_event_batch

    consumer = AIOKafkaConsumer(settings.events_topic, bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                group_id=f"raw-{time.monotonic_ns()}", session_timeout_ms=6000,
                                heartbeat_interval_ms=1000)
    await consumer.start()
    try:
        seen = 0
        started = None
        while seen < total:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                if started is None:
                    started = time.perf_counter()
                for record in records:
                    seen += len(decode_event_batch(record.value))
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


# --- sink -----------------------------------------------------------------------------------

def sink_rate(settings: Settings, total_rows: int, log_dir: Path) -> float:
    """Rows/s the sink stores (events topic only: one row per event), from its own counter."""
    spec = components.worker("sink", "services.sink", settings.to_env(), free_port())
    service = start(spec, log_dir)
    try:
        return counter_rate(service, total_rows, lambda s: (s.sample("richness_sink_rows_total"), True))
    finally:
        stop(service.running)


def raw_insert_rate(settings: Settings, chunks: Iterable[list], table: str) -> float:
    """Rows/s of clickhouse-connect inserting the rows the sink stored (``chunks`` of validated
    events: the same events, as many) into a scratch copy of events_raw, column-oriented (its
    fastest path here: Arrow measured no faster, the insert is bound by the server). The same
    transfer as the sink's: as many rows into a table that grows and merges as it does. Only the
    inserts are timed, not building the rows."""
    from services.sink.rows import Batch
    from shared.topics import event_batches

    client = connect(settings)
    db = settings.clickhouse_database
    client.command(f"CREATE TABLE IF NOT EXISTS {db}.{table} AS {db}.events_raw")
    rows, seconds = 0, 0.0
    for events in chunks:
        batch = Batch()
        for _, record in event_batches(events, 1):
            batch.add_events(record)
        data = batch.tables["events_raw"]
        started = time.perf_counter()
        for start_at in range(0, len(data), 50_000):  # the sink's batch size, column-oriented like the sink
            part = data.take(start_at, start_at + 50_000)
            client.insert(f"{db}.{table}", part.data, column_names=list(part.names), column_oriented=True)
        seconds += time.perf_counter() - started
        rows += len(data)
    return rows / seconds


# --- freshness ------------------------------------------------------------------------------

def freshness(settings: Settings, ingest_url: str, api_key: str, rate: int, seconds: float,
              batch: int = 250) -> list[float]:
    """Seconds from "accepted" to "visible", per request, at a steady event rate.

    A sender posts ``batch`` events every batch/rate seconds. Each request also carries a probe:
    a post and two replies to it in a conversation of its own, by an account of its own. The
    request is visible once ClickHouse has all its events, the probe's thread row (the event rules)
    and the probe owner's day with both replies received (the account rules): every stage of the
    pipeline has handled it. A watcher polls every 50 ms.
    """
    from services.bench.workload import realistic_events

    batches = int(rate * seconds / batch)
    events = realistic_events(batches * batch, seed=99, id_prefix="fresh-")
    accepted: dict[int, tuple[float, int]] = {}  # request -> (accepted at, events)
    visible: dict[int, float] = {}
    done = threading.Event()
    db = settings.clickhouse_database

    def watch() -> None:
        client = connect(settings)
        while not done.is_set() or len(visible) < len(accepted):
            pending = [i for i in accepted if i not in visible]
            if pending:
                roots = [f"fresh-root-{i}" for i in pending]
                owners = [f"fresh-owner-{i}" for i in pending]
                seen_events = dict(client.query(
                    f"SELECT toUInt32OrNull(splitByChar('-', id)[2]) AS b, count() FROM {db}.events_raw "
                    "WHERE startsWith(id, 'fresh-') AND b IN {b:Array(UInt32)} GROUP BY b",
                    parameters={"b": pending}).result_rows)
                threads = {root for root, in client.query(
                    f"SELECT root_id FROM {db}.thread_rows_by_owner WHERE owner_key IN {{o:Array(String)}} "
                    "AND root_id IN {r:Array(String)} AND replies = 2", parameters={"o": owners, "r": roots}).result_rows}
                owned = {account for account, in client.query(
                    f"SELECT account FROM {db}.account_days WHERE account IN {{o:Array(String)}} "
                    "AND replies_received = 2", parameters={"o": owners}).result_rows}
                now = time.perf_counter()
                for i in pending:
                    if (seen_events.get(i, 0) >= accepted[i][1] and f"fresh-root-{i}" in threads
                            and f"fresh-owner-{i}" in owned):
                        visible[i] = now
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    interval = batch / rate
    with httpx.Client(timeout=30) as http:
        next_at = time.perf_counter()
        for i in range(batches):
            chunk = events[i * batch:(i + 1) * batch]
            for event in chunk:  # tag each event with its request number
                event["id"] = f"fresh-{i}-{event['id'][6:]}"
            chunk = chunk + _probe(i, chunk[0]["ts"])
            response = http.post(f"{ingest_url}/v1/events", content=encode_json(chunk), headers=headers)
            response.raise_for_status()
            accepted[i] = (time.perf_counter(), len(chunk))
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
    done.set()
    watcher.join(timeout=120)
    return sorted(visible[i] - accepted[i][0] for i in visible)


def _probe(request: int, ts: int) -> list[dict]:
    root, owner = f"fresh-root-{request}", f"fresh-owner-{request}"
    return [{"id": f"fresh-{request}-probe-post", "type": "post", "ts": ts, "actor": owner, "post_id": root},
            *({"id": f"fresh-{request}-probe-{n}", "type": "reply", "ts": ts, "actor": "fresh-fan",
               "post_id": f"{root}-reply-{n}", "parent_id": root, "root_id": root} for n in (1, 2))]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]
