"""Benchmarks of the local stack's event log (issue 14).

- ``compare``: ingest and processor throughput on the durable log (Tansu on a local SeaweedFS,
  what ``richness up`` runs) next to the in-memory one, same workload, same machine, same run.
- ``restart_ready``: a local stack holding N events is stopped; how long ``richness up`` on that
  data directory takes until it is ready (``up_s``) and until it is also drained (``ready_s``).
  With the durable log nothing is republished, so this should not grow with N.

``python -m services.bench.event_logs [--restart-events N] [--no-compare]`` runs just these.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

from services.bench import stages
from services.bench.workload import iter_events
from services.stack.drain import drain
from services.stack.supervisor import LocalStack, StackSettings

Report = Callable[[str], None]
KINDS = ("memory", "durable")
FILL_CHUNK = 100_000  # events generated and sent at a time (10^7 dicts would not fit in memory)


def figures(plan, report: Report = print) -> dict:
    """What the plan asks for (``plan.event_logs``, ``plan.restart_events``)."""
    result: dict = {}
    if plan.event_logs:
        result["event_logs"] = compare(plan, report)
    if plan.restart_events:
        result.update(restart_ready(plan.restart_events, report))
    return result


def compare(plan, report: Report = print, kinds: Iterable[str] = KINDS) -> dict[str, dict]:
    """Per event log: ingest (HTTP, and the raw producer baseline) and processor throughput."""
    from services.bench.run import Bench  # noqa: PLC0415 - run.py imports this module

    result = {}
    for kind in kinds:
        report(f"event log: {kind}")
        with Bench(plan, report, event_log=kind) as bench:
            ingest, processor = bench.ingest(), bench.processor()
        result[kind] = {
            "ingest_events_per_s": ingest["ingest_events_per_s"],
            "raw_produce_events_per_s": ingest["raw_produce_events_per_s"],
            "processor_events_per_s": processor["processor_events_per_s"],
            "raw_consume_events_per_s": processor["raw_consume_events_per_s"],
        }
        report(f"event log {kind}: " + ", ".join(f"{k} {v:,}" for k, v in result[kind].items()))
    return result


def restart_ready(events: int, report: Report = print, workdir: Path | None = None) -> dict:
    """Fill a durable local stack with ``events`` through the ingest API, drain, stop it; then
    time ``up`` on the same data directory until ready, and until drained."""
    if "RICHNESS_KAFKA_BOOTSTRAP" in os.environ or "RICHNESS_CLICKHOUSE_URL" in os.environ:
        raise RuntimeError("restart_ready measures the embedded stack: unset RICHNESS_KAFKA_BOOTSTRAP and "
                           "RICHNESS_CLICKHOUSE_URL")
    with tempfile.TemporaryDirectory(prefix="richness-restart-", dir=workdir) as tmp:
        stack = LocalStack(Path(tmp) / "stack", StackSettings(event_log="durable"))
        try:
            started = time.perf_counter()
            info = stack.up()
            _fill(info.ingest_url, info.api_key, events, report)
            _drain(stack, timeout_s=600 + events / 2_000)
            report(f"restart: {events:,} events stored in {time.perf_counter() - started:,.0f} s; stopping the stack")
            stack.down()

            started = time.perf_counter()
            stack.up()
            up_s = time.perf_counter() - started
            _drain(stack, timeout_s=600 + events / 2_000)
            ready_s = time.perf_counter() - started
            report(f"restart with {events:,} events: up in {up_s:.1f} s, ready and drained in {ready_s:.1f} s")
        finally:
            stack.down(force=True)
    return {"restart_events": events, "restart_up_s": round(up_s, 2), "restart_ready_s": round(ready_s, 2)}


def _fill(ingest_url: str, api_key: str, events: int, report: Report) -> None:
    source = iter_events(events, seed=4)
    sent = 0
    while chunk := list(itertools.islice(source, FILL_CHUNK)):
        asyncio.run(stages.ingest_rate(ingest_url, api_key, chunk))
        sent += len(chunk)
        report(f"restart: filled {sent:,}/{events:,} events")


def _drain(stack: LocalStack, timeout_s: float) -> None:
    if not asyncio.run(drain(stack.client_settings(), timeout_s, problem=stack.problem)):
        raise RuntimeError(f"the local stack in {stack.dir} did not drain within {timeout_s:.0f} s")


def main() -> None:
    from services.bench.run import Plan  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restart-events", type=int, default=0, help="events in the restarted stack (0: skip)")
    parser.add_argument("--no-compare", action="store_true", help="skip the memory/durable comparison")
    parser.add_argument("--quick", action="store_true", help="the quick plan's sizes for the comparison")
    args = parser.parse_args()
    plan = Plan.quick() if args.quick else Plan.full()
    plan.event_logs, plan.restart_events = not args.no_compare, args.restart_events
    print(json.dumps(figures(plan), separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
