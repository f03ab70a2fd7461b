"""Benchmarks of the ClickHouse cluster (issue 15): the same work on one server and on a cluster
of two shards (the embedded engine, one server per shard), on this machine, in the same run.

- ``sink_rows_per_s``: the real sink storing a topic of events, until every row is on its shard
  (on the cluster: also sent on by the Distributed tables, none left waiting on a node's disk).
- ``insert_rows_per_s``: rows inserted into the table the sink writes to (on the cluster the
  Distributed table: the node routes each row and sends the other shard's share in the
  background; timed until delivered); on the cluster also ``direct_rows_per_s``, the other way a
  sink could write: straight into each shard's local table, split by the client (its split uses zlib's CRC32, as cheap as any hash in Python; a sink doing this for real
  would have to reproduce the Distributed table's cityHash64).
- ``dashboard_p95_ms``: p95 latency of every ClickHouse panel query of the provisioned dashboards,
  as Grafana expands them, by the read-only user, over maintained rows of many accounts — with
  All accounts and with one account selected.

Both shards share this machine's cores, so the ratio two shards / one server here is what sharding
costs in coordination, not what it gains: on separate machines each shard has its own cores and
disk, so the insert and scan work divides by the shard count and the coordination cost stays.

``richness bench --cluster`` runs these (``--quick`` for small sizes), or
``python -m services.bench.cluster --events N --accounts N``.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import secrets
import statistics
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator

from services.bench import stages
from services.bench.workload import iter_events
from services.dashboards.queries import dashboard_time_range, panel_queries, resolve_variables, run_sql
from services.sink.rows import COLUMNS, Rows
from services.stack import components
from services.stack.clickhouse_server import ClusterConfig
from services.stack.drain import distribution_pending
from services.stack.processes import Running, free_port, spawn, stop, wait_healthy
from shared.clickhouse.client import connect
from shared.clickhouse.schema import apply as apply_schema
from shared.config import Settings
from shared.domain.rows import AccountDayRow, FollowerRow, ThreadRow, encode_rows
from shared.grafana import provisioning
from shared.grafana.macros import TimeRange
from shared.kafka.admin import ensure_topics
from shared.topics import event_batches

Report = Callable[[str], None]
SHAPES = {"one_server": 1, "two_shards": 2}
CLUSTER = "richness_bench"
INSERT_BATCH = 50_000  # rows per insert, as the sink's batches


@dataclass
class ClusterPlan:
    events: int = 200_000  # through the sink (its batches hold up to ~80,000: several are needed)
    route_rows: int = 200_000  # inserted each way
    accounts: int = 2_000  # dashboards: accounts with 90 days of figures and their followers
    followers_per_account: int = 50
    threads_per_account: int = 20
    query_repeats: int = 5

    @classmethod
    def quick(cls) -> "ClusterPlan":
        return cls(events=160_000, route_rows=100_000, accounts=500, query_repeats=3)

    @classmethod
    def full(cls) -> "ClusterPlan":
        return cls(events=1_000_000, route_rows=1_000_000, accounts=20_000, query_repeats=10)


@dataclass
class Target:
    """ClickHouse for one measurement: one server or a cluster, the schema applied."""

    shape: str
    settings: Settings
    nodes: list[str]  # HTTP URLs, the first the one everything talks to

    @property
    def sharded(self) -> bool:
        return len(self.nodes) > 1

    def settle(self, timeout_s: float = 600) -> None:
        """Wait until the Distributed tables have sent every row on (nothing on a cluster)."""
        deadline = time.monotonic() + timeout_s
        while self.sharded and distribution_pending(self.settings):
            if time.monotonic() > deadline:
                raise RuntimeError(f"rows still waiting for a shard after {timeout_s:.0f} s")
            time.sleep(0.05)


@contextlib.contextmanager
def clickhouse_target(shape: str, workdir: Path, logs: Path, base: Settings) -> Iterator[Target]:
    shards = SHAPES[shape]
    ports = [(free_port(), free_port()) for _ in range(shards)]
    cluster = ClusterConfig(CLUSTER, secrets.token_urlsafe(16), tuple(t for _, t in ports)) if shards > 1 else None
    running: list[Running] = []
    try:
        for index, (http_port, tcp_port) in enumerate(ports):
            spec = components.clickhouse(workdir / shape / f"node-{index + 1}", http_port=http_port, tcp_port=tcp_port,
                                         admin_user=base.clickhouse_user,
                                         admin_password=base.clickhouse_password.get_secret_value(),
                                         reader_user=base.clickhouse_reader_user,
                                         reader_password=base.clickhouse_reader_password.get_secret_value(),
                                         cluster=cluster, name=f"clickhouse-{shape}-{index + 1}")
            running.append(spawn(spec, logs))
            wait_healthy(spec, running[-1])
        nodes = [f"http://127.0.0.1:{http}" for http, _ in ports]
        settings = base.model_copy(update={"clickhouse_url": nodes[0], "clickhouse_cluster": CLUSTER if cluster else "",
                                           "clickhouse_replicated": False, "clickhouse_nodes": nodes if cluster else []})
        apply_schema(settings)
        yield Target(shape, settings, nodes)
    finally:
        for process in reversed(running):
            stop(process)


@contextlib.contextmanager
def private_broker(workdir: Path) -> Iterator[str]:
    """An in-memory broker of its own (the event log is not what is measured here)."""
    port = free_port()
    [spec] = components.private_event_log("memory", workdir / "eventlog", port)
    running = spawn(spec, workdir / "logs")
    try:
        wait_healthy(spec, running)
        yield f"127.0.0.1:{port}"
    finally:
        stop(running)
        spec.after_stop()


# --- the sink ----------------------------------------------------------------------------------

def sink_rate(target: Target, events: int, logs: Path) -> float:
    """Rows/s of the real sink storing ``events`` events (one row each), delivery included."""
    tag = secrets.token_hex(4)
    settings = target.settings.model_copy(update={
        "events_topic": f"bench-events-{tag}", "facts_topic": f"bench-facts-{tag}",
        "dead_letter_topic": f"bench-dead-{tag}", "group_prefix": f"bench-{tag}"})
    asyncio.run(ensure_topics(settings))
    source = iter_events(events, seed=2, id_prefix=f"{tag}-")
    while chunk := list(itertools.islice(source, 100_000)):
        asyncio.run(stages.fill_events_topic(settings, stages.validated(chunk)))
    service = stages.start(components.worker("sink", "services.sink", settings.to_env(), free_port()), logs)
    try:
        def stored(s: stages.Service) -> tuple[float, bool]:
            rows = s.sample("richness_sink_rows_total")
            return rows, rows >= events and not (target.sharded and distribution_pending(settings))
        return stages.counter_rate(service, events, stored)
    finally:
        stop(service.running)


# --- insert routes -----------------------------------------------------------------------------

def event_rows(count: int, prefix: str) -> list[tuple]:
    """events_raw rows of ``count`` generated events, made as the sink makes them."""
    rows = Rows()
    source = iter_events(count, seed=3, id_prefix=prefix)
    while chunk := list(itertools.islice(source, 10_000)):
        for _, record in event_batches(stages.validated(chunk), 1):
            rows.add_events(record)
    return rows.tables["events_raw"]


def batched(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def insert_routes(target: Target, count: int) -> dict[str, float]:
    """Rows/s into the Distributed table (routed by the node), and (cluster) straight into each
    shard's local table (routed by the client); each until every row is on its shard."""
    db, columns = target.settings.clickhouse_database, list(COLUMNS["events_raw"])
    routed = event_rows(count, f"routed-{secrets.token_hex(3)}-")
    client = connect(target.settings)
    started = time.perf_counter()
    for batch in batched(routed, INSERT_BATCH):
        client.insert(f"{db}.events_raw", list(zip(*batch)), column_names=columns, column_oriented=True)
    target.settle()
    result = {"insert_rows_per_s": round(count / (time.perf_counter() - started))}
    if target.sharded:
        direct = event_rows(count, f"direct-{secrets.token_hex(3)}-")
        shards = [connect(target.settings, url=url) for url in target.nodes]
        started = time.perf_counter()
        for batch in batched(direct, INSERT_BATCH):
            parts: list[list[tuple]] = [[] for _ in shards]
            for row in batch:
                parts[zlib.crc32(row[0].encode()) % len(shards)].append(row)
            threads = [threading.Thread(target=shard.insert, args=(f"{db}.events_raw_local", list(zip(*part))),
                                        kwargs={"column_names": columns, "column_oriented": True})
                       for shard, part in zip(shards, parts) if part]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        result["direct_rows_per_s"] = round(count / (time.perf_counter() - started))
    return result


# --- dashboards --------------------------------------------------------------------------------

def fill_dashboard_rows(target: Target, plan: ClusterPlan, today: date) -> list[str]:
    """Maintained rows of ``plan.accounts`` accounts (90 days each, followers, threads), inserted
    as the sink inserts them; returns the accounts."""
    accounts = [f"acct_{n:06d}" for n in range(plan.accounts)]
    epoch = date(1970, 1, 1)
    first_day = (today - epoch).days - 89
    now_ms = int(datetime.combine(today, datetime.min.time(), timezone.utc).timestamp() * 1000)
    client, db = connect(target.settings), target.settings.clickhouse_database
    for chunk in batched(accounts, 200):
        facts: list = []
        for account in chunk:
            seed = zlib.crc32(account.encode())
            for day in range(90):
                followers = 100 + (seed + day) % 50
                facts.append(AccountDayRow(account, first_day + day, True, followers, day % 7, day % 3, followers // 4,
                                           day % 7 - day % 3, day % 11, day % 5, day % 4, day % 13, day % 9, day % 6,
                                           day % 3, day % 2, day % 8, day % 2, day % 2, Decimal("12.5"), Decimal(0), 1))
            for n in range(plan.followers_per_account):
                facts.append(FollowerRow(account, f"f_{(seed + n) % 100_000:06d}", n % 10 != 0, now_ms - n * 86_400_000,
                                         n % 3 == 0, n % 4, n % 5, n % 2, n % 3, n % 2, Decimal("3.5"), now_ms - n * 3_600_000, 1))
            for n in range(plan.threads_per_account):
                start = now_ms - (n % 80) * 86_400_000
                facts.append(ThreadRow(f"{account}/post-{n}", account, 1 + n % 9, 1 + n % 4, 1 + n % 6, n % 3,
                                       start, start + 3_600_000, n % 4, n % 3, n % 7, 1))
        rows = Rows()
        rows.add_facts(encode_rows(facts))
        for table, table_rows in rows.tables.items():
            if table_rows:
                client.insert(f"{db}.{table}", list(zip(*table_rows)), column_names=list(COLUMNS[table]),
                              column_oriented=True)
    target.settle()
    return accounts


def dashboard_latencies(target: Target, repeats: int, account: str | None, now: datetime) -> list[float]:
    """Seconds per run of every ClickHouse panel query of every dashboard (All, or one account)."""
    reader = connect(target.settings, reader=True)
    latencies = []
    for board in provisioning.dashboards():
        time_range: TimeRange = dashboard_time_range(board, now)
        has_accounts = any(v.get("name") == "account" for v in board.get("templating", {}).get("list", []))
        if account and not has_accounts:
            continue
        variables = resolve_variables(reader, board, time_range, {"account": [account]} if account else None)
        for query in panel_queries(board, time_range):
            if query.datasource_type != provisioning.CLICKHOUSE_TYPE:
                continue
            sql = query.clickhouse_sql(time_range, variables)
            for _ in range(repeats):
                started = time.perf_counter()
                run_sql(reader, sql)
                latencies.append(time.perf_counter() - started)
    return latencies


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


# --- the run -----------------------------------------------------------------------------------

def run_cluster(plan: ClusterPlan, report: Report = print, workdir: Path | None = None) -> dict:
    """Every figure on one server, then on two shards, and the ratios two shards / one server."""
    figures: dict = {"cluster": {}}
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="richness-bench-cluster-", dir=workdir) as tmp, \
            private_broker(Path(tmp)) as bootstrap:
        logs = Path(tmp) / "logs"
        base = Settings(kafka_bootstrap=bootstrap, kafka_compat="tansu", partitions=2, clickhouse_user="richness",
                        clickhouse_password=secrets.token_urlsafe(16), clickhouse_reader_user="richness_reader",
                        clickhouse_reader_password=secrets.token_urlsafe(16), clickhouse_database="richness")
        for shape in SHAPES:
            with clickhouse_target(shape, Path(tmp), logs, base) as target:
                result: dict = {"sink_rows_per_s": round(sink_rate(target, plan.events, logs))}
                report(f"{shape}: sink {result['sink_rows_per_s']:,} rows/s")
                result.update(insert_routes(target, plan.route_rows))
                routes = {k: v for k, v in result.items() if k in ("insert_rows_per_s", "direct_rows_per_s")}
                report(f"{shape}: inserts of {plan.route_rows:,} rows: " + ", ".join(f"{k} {v:,}" for k, v in routes.items()))
                accounts = fill_dashboard_rows(target, plan, now.date())
                for label, account in (("all", None), ("one_account", accounts[len(accounts) // 2])):
                    latencies = dashboard_latencies(target, plan.query_repeats, account, now)
                    result[f"dashboard_{label}_p95_ms"] = round(p95(latencies) * 1000, 1)
                    result[f"dashboard_{label}_queries"] = len(latencies)
                report(f"{shape}: dashboard p95 All {result['dashboard_all_p95_ms']} ms, one account "
                       f"{result['dashboard_one_account_p95_ms']} ms over {plan.accounts:,} accounts")
                figures["cluster"][shape] = result
    one, two = figures["cluster"]["one_server"], figures["cluster"]["two_shards"]
    figures["cluster"]["ratio_two_shards_to_one"] = {
        name: round(two[name] / one[name], 3) for name in ("sink_rows_per_s", "insert_rows_per_s",
                                                           "dashboard_all_p95_ms", "dashboard_one_account_p95_ms")}
    figures["cluster"]["direct_to_insert"] = round(two["direct_rows_per_s"] / two["insert_rows_per_s"], 3)
    report("two shards / one server: " + ", ".join(
        f"{k} {v}" for k, v in figures["cluster"]["ratio_two_shards_to_one"].items()))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=ClusterPlan.events)
    parser.add_argument("--route-rows", type=int, default=ClusterPlan.route_rows)
    parser.add_argument("--accounts", type=int, default=ClusterPlan.accounts)
    parser.add_argument("--repeats", type=int, default=ClusterPlan.query_repeats)
    args = parser.parse_args()
    plan = ClusterPlan(args.events, args.route_rows, args.accounts, query_repeats=args.repeats)
    print(json.dumps(run_cluster(plan)))


if __name__ == "__main__":
    main()
