"""Orchestrates ``richness bench``: a private broker and ClickHouse, every stage next to its raw
baseline, medians of several runs, and one JSON line of figures at the end."""
from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from services.bench import dashboards, event_logs, stages
from services.bench.workload import iter_events, reply_trees
from services.stack import components
from services.stack.processes import free_port, spawn, stop, wait_healthy
from shared.clickhouse.schema import migrate
from shared.config import Settings
from shared.kafka.admin import ensure_topics

Report = Callable[[str], None]


@dataclass
class Plan:
    events: int = 100_000  # per ingest measurement
    processor_events: int = 200_000  # processor batches hold up to 20,000 events: several steps
    viral_replies: int = 200_000  # the viral stage: this many replies in one conversation vs spread
    sink_rows: int = 500_000  # sink batches hold up to 50,000 rows
    repeats: int = 3
    freshness_rate: int = 5_000
    freshness_seconds: float = 20.0
    # Processor/sink sizes for the scaling table; each ≥ 10^6 so that the sink, whose batches hold up
    # to 50,000 rows, still takes several steps (a size its first batch swallows measures nothing).
    scaling: list[int] = field(default_factory=list)
    # services.bench.event_logs: ingest and processor on the durable log next to the in-memory one,
    # and the restart of a local stack holding this many events (0: skip).
    event_logs: bool = False
    restart_events: int = 0
    # services.bench.dashboards: every dashboard and alert query over this many simulated events
    # loaded through the pipeline, one size after the other (empty: skip).
    dashboard_events: list[int] = field(default_factory=lambda: [100_000])

    @classmethod
    def quick(cls) -> "Plan":
        return cls()

    @classmethod
    def full(cls) -> "Plan":
        return cls(events=200_000, processor_events=500_000, viral_replies=10**6, sink_rows=1_000_000, repeats=5,
                   freshness_seconds=60.0, scaling=[10**6, 10**7], event_logs=True, restart_events=10**7,
                   dashboard_events=[10**5, 10**6, 10**7])


class Bench:
    def __init__(self, plan: Plan, report: Report = print, event_log: str = "memory"):
        self.plan = plan
        self.report = report
        self.event_log = event_log  # the private broker's log: "memory" or "durable" (as `richness up`)
        self.dir = Path(tempfile.mkdtemp(prefix="richness-bench-"))
        self.logs = self.dir / "logs"
        self.processes = []
        self.after_stop = []  # each component's tidying once stopped (Spec.after_stop)

    # --- set-up ---------------------------------------------------------------------------
    def __enter__(self) -> "Bench":
        broker_port, http_port = free_port(), free_port()
        self.admin_password = secrets.token_urlsafe(16)
        specs = [*components.private_event_log(self.event_log, self.dir / "eventlog", broker_port),
                 components.clickhouse(self.dir / "clickhouse", http_port=http_port, tcp_port=free_port(),
                                       admin_user="richness", admin_password=self.admin_password,
                                       reader_user="richness_reader", reader_password=secrets.token_urlsafe(16))]
        for spec in specs:
            running = spawn(spec, self.logs)
            self.processes.append(running)
            self.after_stop.append(spec.after_stop)
            wait_healthy(spec, running)
        self.base = Settings(kafka_bootstrap=f"127.0.0.1:{broker_port}", kafka_compat="tansu", partitions=2,
                             clickhouse_url=f"http://127.0.0.1:{http_port}", clickhouse_user="richness",
                             clickhouse_password=self.admin_password)
        migrate(stages.connect(self.base))
        return self

    def __exit__(self, *exc) -> None:
        for running in reversed(self.processes):
            stop(running)
        for tidy in self.after_stop:
            tidy()
        shutil.rmtree(self.dir, ignore_errors=True)  # topics, tables and processor state of the run

    def fresh_settings(self, **overrides) -> Settings:
        """Private topics and consumer groups for one measurement."""
        tag = secrets.token_hex(4)
        settings = self.base.model_copy(update={
            "events_topic": f"bench-events-{tag}", "facts_topic": f"bench-facts-{tag}",
            "changes_topic": f"bench-changes-{tag}", "dead_letter_topic": f"bench-dead-{tag}",
            "group_prefix": f"bench-{tag}", **overrides})
        asyncio.run(ensure_topics(settings))
        return settings

    # --- stages ---------------------------------------------------------------------------
    def ingest(self) -> dict:
        events = list(iter_events(self.plan.events, seed=1))
        validated = stages.validated(events)
        api_key = secrets.token_urlsafe(16)
        ingest_rates, raw_rates, packed_rates = [], [], []
        for repeat in range(self.plan.repeats):
            settings = self.fresh_settings(api_keys=api_key)
            port = free_port()
            service = stages.start(components.ingest(settings.to_env(), port), self.logs)
            try:
                ingest_rates.append(asyncio.run(stages.ingest_rate(f"http://127.0.0.1:{port}", api_key, events)))
            finally:
                stop(service.running)
            raw_rates.append(asyncio.run(stages.raw_produce_rate(self.fresh_settings(), validated, packed=False)))
            packed_rates.append(asyncio.run(stages.raw_produce_rate(self.fresh_settings(), validated, packed=True)))
            self.report(f"ingest run {repeat + 1}: HTTP {ingest_rates[-1]:,.0f} ev/s · raw produce one record/event "
                        f"{raw_rates[-1]:,.0f} ev/s · raw produce packed {packed_rates[-1]:,.0f} ev/s")
        ingest, raw, packed = map(statistics.median, (ingest_rates, raw_rates, packed_rates))
        return {"ingest_events_per_s": round(ingest), "raw_produce_events_per_s": round(raw),
                "ingest_ratio_to_raw_produce": round(ingest / raw, 3),
                "raw_produce_packed_events_per_s": round(packed),
                "ingest_ratio_to_raw_produce_packed": round(ingest / packed, 3)}

    def processor(self, size: int | None = None, repeats: int | None = None) -> dict:
        size = size or self.plan.processor_events
        runs, raw_rates = [], []
        for repeat in range(repeats or self.plan.repeats):
            settings = self.fresh_settings()
            self._fill(settings, size)
            run = stages.processor_rate(settings, size, self.logs)
            runs.append(run)
            raw_rates.append(asyncio.run(stages.raw_consume_rate(settings, size)))
            self.report(f"processor run {repeat + 1} ({size:,} events): {run.events_per_s:,.0f} ev/s, "
                        f"{run.cpu_us_per_event:.1f} µs CPU/event, peak RSS {run.peak_rss_mb:,.0f} MB"
                        f" · raw consume+decode {raw_rates[-1]:,.0f} ev/s")
        rate, raw = statistics.median(r.events_per_s for r in runs), statistics.median(raw_rates)
        return {"processor_events_per_s": round(rate), "raw_consume_events_per_s": round(raw),
                "processor_ratio_to_raw_consume": round(rate / raw, 3),
                "processor_cpu_us_per_event": round(statistics.median(r.cpu_us_per_event for r in runs), 1),
                "processor_peak_rss_mb": round(max(r.peak_rss_mb for r in runs))}

    def sink(self, size: int | None = None, repeats: int | None = None) -> dict:
        size = size or self.plan.sink_rows
        rates, raw_rates = [], []
        for repeat in range(repeats or self.plan.repeats):
            settings = self.fresh_settings()
            self._fill(settings, size)
            rates.append(stages.sink_rate(settings, size, self.logs))
            raw_rates.append(stages.raw_insert_rate(settings, self._chunks(size), f"raw_insert_{repeat}"))
            self.report(f"sink run {repeat + 1} ({size:,} rows): {rates[-1]:,.0f} rows/s"
                        f" · raw clickhouse-connect insert {raw_rates[-1]:,.0f} rows/s (ratio {rates[-1] / raw_rates[-1]:.2f})")
        # The ratio: the median of each run's own (the sink and the raw insert of the same rows,
        # back to back on one server), so that each ratio compares a pair measured together.
        ratio = statistics.median(sink / raw for sink, raw in zip(rates, raw_rates))
        return {"sink_rows_per_s": round(statistics.median(rates)),
                "raw_insert_rows_per_s": round(statistics.median(raw_rates)), "sink_ratio_to_raw_insert": round(ratio, 3)}

    def freshness(self) -> dict:
        api_key = secrets.token_urlsafe(16)
        settings = self.fresh_settings(api_keys=api_key)
        env, port = settings.to_env(), free_port()
        services = [stages.start(components.ingest(env, port), self.logs),
                    stages.start(components.processor("events", env, free_port(), self.dir / f"state-{settings.group_prefix}" / "events"), self.logs),
                    stages.start(components.processor("accounts", env, free_port(), self.dir / f"state-{settings.group_prefix}" / "accounts"), self.logs),
                    stages.start(components.worker("sink", "services.sink", env, free_port()), self.logs)]
        try:
            time.sleep(3)  # let the consumer groups settle before the clock starts
            delays = stages.freshness(settings, f"http://127.0.0.1:{port}", api_key, self.plan.freshness_rate,
                                      self.plan.freshness_seconds)
        finally:
            for service in reversed(services):
                stop(service.running)
        self.report(f"freshness at {self.plan.freshness_rate:,} ev/s for {self.plan.freshness_seconds:.0f} s: "
                    f"median {statistics.median(delays):.2f} s, p99 {stages.p99(delays):.2f} s over {len(delays)} requests")
        return {"freshness_p50_s": round(statistics.median(delays), 3), "freshness_p99_s": round(stages.p99(delays), 3)}

    def viral(self, replies: int, spread_over: int = 20_000) -> dict:
        """The richest conversation must not be the slowest: ``replies`` replies in ONE
        conversation (a random tree, ~30 % delivered before their parent) next to the same
        number spread over ``spread_over`` conversations, same run, same processor."""
        figures = {}
        for shape, conversations in (("viral", 1), ("spread", spread_over)):
            settings = self.fresh_settings()
            source = reply_trees(replies, conversations, seed=5, id_prefix=shape)
            while chunk := list(itertools.islice(source, 100_000)):
                asyncio.run(stages.fill_events_topic(settings, stages.validated(chunk)))
            run = stages.processor_rate(settings, replies + conversations, self.logs)
            self.report(f"{shape}: {replies:,} replies in {conversations:,} conversation(s): {run.events_per_s:,.0f} "
                        f"ev/s, processor peak RSS {run.peak_rss_mb:,.0f} MB")
            figures[shape] = (run.events_per_s, run.peak_rss_mb)
        (viral, viral_rss), (spread, spread_rss) = figures["viral"], figures["spread"]
        return {"viral_events_per_s": round(viral), "spread_events_per_s": round(spread),
                "viral_ratio_to_spread": round(viral / spread, 3), "viral_peak_rss_mb": round(max(viral_rss, spread_rss))}

    def scaling(self) -> list[dict]:
        rows = []
        for size in self.plan.scaling:
            figures = {"events": size, **self.processor(size, repeats=1), **self.sink(size, repeats=1)}
            rows.append(figures)
        return rows

    def _fill(self, settings: Settings, size: int) -> None:
        """The events topic holds ``size`` events, written as the ingest API writes them."""
        for chunk in self._chunks(size):
            asyncio.run(stages.fill_events_topic(settings, chunk))

    @staticmethod
    def _chunks(size: int) -> Iterator[list]:
        """The bench workload's first ``size`` events, validated, 100,000 at a time (always the
        same events: the sink's baseline inserts exactly what the sink stored)."""
        source = iter_events(size, seed=2)
        while chunk := list(itertools.islice(source, 100_000)):
            yield stages.validated(chunk)


def run(plan: Plan, report: Report = print) -> dict:
    started = time.perf_counter()
    with Bench(plan, report) as bench:
        figures = {**bench.ingest(), **bench.processor(), **bench.viral(plan.viral_replies), **bench.sink(),
                   **bench.freshness()}
        figures["processor_peak_rss_mb"] = max(figures["processor_peak_rss_mb"], figures.pop("viral_peak_rss_mb"))
        if plan.scaling:
            figures["scaling"] = bench.scaling()
        figures.update(dashboards.figures(bench, plan.dashboard_events, plan.repeats, report))
    figures.update(event_logs.figures(plan, report))
    figures["bench_seconds"] = round(time.perf_counter() - started)
    return figures


def summary_line(figures: dict) -> str:
    return json.dumps(figures, separators=(",", ":"))
