"""``richness drain``: wait until every accepted event is reflected in ClickHouse.

Order matters. The processor commits an input's offset only after what it produced was
confirmed by the broker, and the sink commits only after ClickHouse confirmed the rows. So:
(1) the processor has no lag on the events topic, THEN (2) none on the account changes (which
its event rules produce) as they stand after (1), THEN (3) the sink has no lag on the events and
facts topics as they stand after (2). All three hold => every accepted event and every figure
derived from it is stored. On a cluster (``RICHNESS_CLICKHOUSE_CLUSTER``), (4): the Distributed
tables have sent every row they accepted on to the shard that owns it (none waits on a node's
disk, e.g. for a shard that is down).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

from shared.config import Settings
from shared.kafka.lag import group_lag, partitions_of


class DrainBlocked(RuntimeError):
    """The pipeline cannot catch up on its own (e.g. a component keeps dying): waiting is futile."""


@dataclass
class Lag:
    processor: int
    sink: int
    error: str | None = None  # why the lag could not be measured this time (e.g. broker restarting)
    # Files of rows a cluster's Distributed tables still hold for another shard (-1: not measured).
    distribution: int = 0

    @property
    def total(self) -> int:
        return self.processor + self.sink + max(0, self.distribution)


def distribution_pending(settings: Settings) -> int:
    """Files of rows waiting on any node of the cluster to be sent to their shard."""
    from shared.clickhouse.client import connect  # noqa: PLC0415 - only clusters need ClickHouse here

    client = connect(settings)
    try:
        pending, broken, problem = client.query(
            f"SELECT sum(data_files), sum(broken_data_files), anyIf(last_exception, last_exception != '') "
            f"FROM clusterAllReplicas('{settings.clickhouse_cluster}', system.distribution_queue) "
            "WHERE database = {db:String}", parameters={"db": settings.clickhouse_database}).first_row
    finally:
        client.close()
    if broken:
        raise DrainBlocked(f"{broken} files of rows a shard refused (see system.distribution_queue): {problem}")
    return int(pending)


async def pipeline_lag(settings: Settings) -> Lag:
    events = await partitions_of(settings, [settings.events_topic])
    processor = sum((await group_lag(settings, settings.processor_group, events)).values())
    if processor:
        return Lag(processor, -1)  # the sink's figure would be stale; -1 = not measured yet
    changes = await partitions_of(settings, [settings.changes_topic])
    processor = sum((await group_lag(settings, settings.accounts_group, changes)).values())
    if processor:
        return Lag(processor, -1)
    facts = await partitions_of(settings, [settings.facts_topic])
    sink = sum((await group_lag(settings, settings.sink_group, events + facts)).values())
    if sink or not settings.clickhouse_cluster:
        return Lag(0, sink, distribution=-1 if sink and settings.clickhouse_cluster else 0)
    return Lag(0, 0, distribution=await asyncio.to_thread(distribution_pending, settings))


async def drain(settings: Settings, timeout_s: float, report: Callable[[Lag], None] = lambda _: None,
                poll_s: float = 0.25, problem: Callable[[], str | None] = lambda: None) -> bool:
    """True once nothing is pending, False at the timeout. ``problem`` (e.g. the local stack's
    supervision) is asked at every poll; a reason it gives ends the wait with ``DrainBlocked``."""
    deadline = time.monotonic() + timeout_s
    while True:
        reason = problem()
        if reason:
            raise DrainBlocked(reason)
        try:
            lag = await pipeline_lag(settings)
        except DrainBlocked:
            raise
        except Exception as exc:  # noqa: BLE001 - a restarting broker or node: measure again at the next poll
            lag = Lag(-1, -1, f"{type(exc).__name__}: {exc}", distribution=-1)
        report(lag)
        if lag.processor == 0 and lag.sink == 0 and lag.distribution == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll_s)
