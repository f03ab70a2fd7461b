"""The ``dashboards`` stage of ``richness bench``: how long Grafana waits for ClickHouse.

Loads N events of the simulator (``services.simulate``) through the real pipeline — ingest API,
both processor stages, sink — into a ClickHouse server of its own, drains, then runs every
ClickHouse query the provisioned dashboards and alert rules send, expanded exactly as Grafana and
the ClickHouse plugin expand them (``shared.grafana.macros``), as the read-only user:

- each dashboard's variable query and panel queries, over the last 7 and the last 30 days, with
  ``account`` = All and with the busiest account (the first the variable offers);
- each alert rule's query over its own ``relativeTimeRange`` ending now.

Every query runs ``repeats`` times (whole passes, so caches see the same mix as a refreshing
dashboard); the figures are the percentiles of the client-side wall times, round trip included.

History grows in days at a steady pace among a fixed set of accounts (``Load``): a dashboard
over the last 30 days then has as much activity to read at 10^6 as at 10^7 events, and whatever
grows with history shows up as a growing p95. (The follower graph does grow with history, as
follows accumulate: the ledger panels read it.)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import SecretStr

from services.dashboards.queries import dashboard_time_range, panel_queries, resolve_variables, run_sql
from services.simulate.model import (DAILY_FOLLOW_GAIN, DAILY_UNFOLLOW, GRAPH_SHARE, SimulationConfig, simulate,
                                     start_of_today)
from services.simulate.sender import EventSender, post_events
from services.stack import components
from services.stack.drain import drain
from services.stack.processes import free_port, spawn, stop, wait_healthy
from shared.clickhouse.client import connect
from shared.clickhouse.schema import migrate
from shared.grafana import provisioning
from shared.grafana.alerting import EXPRESSION_DATASOURCE
from shared.grafana.macros import TimeRange, Variable, alert_sql

Report = Callable[[str], None]

RANGES_DAYS = (7, 30)
ALL = "All"


# --- what Grafana sends ---------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """One ClickHouse query as provisioned: a dashboard's variable or panel query, or an alert
    rule's query."""

    kind: str    # "variable", "panel" or "alert"
    where: str   # dashboard uid or rule uid
    title: str   # variable name, panel title or rule title (with the refId)
    text: str    # the SQL as written in the file


def provisioned_queries(grafana_dir: Path | None = None) -> list[Source]:
    """Every ClickHouse query of the provisioned dashboards and alert rules."""
    sources: list[Source] = []
    for board in provisioning.dashboards(grafana_dir):
        for definition in board.get("templating", {}).get("list", []):
            if definition.get("datasource", {}).get("type") == provisioning.CLICKHOUSE_TYPE:
                query = definition["query"]
                sources.append(Source("variable", board["uid"], f"variable {definition['name']}",
                                      query if isinstance(query, str) else query["rawSql"]))
        for query in panel_queries(board, dashboard_time_range(board, datetime.now(timezone.utc))):
            if query.datasource_type == provisioning.CLICKHOUSE_TYPE:
                sources.append(Source("panel", board["uid"], query.panel.get("title", ""), query.text))
    clickhouse = {uid for uid, source in provisioning.datasources(grafana_dir).items()
                  if source.get("type") == provisioning.CLICKHOUSE_TYPE}
    for rule in provisioning.alert_rules(grafana_dir):
        for query in rule.rule["data"]:
            if query["datasourceUid"] != EXPRESSION_DATASOURCE and query["datasourceUid"] in clickhouse:
                sources.append(Source("alert", rule.uid, f"{rule.title} ({query['refId']})", query["model"]["rawSql"]))
    return sources


@dataclass(frozen=True)
class Sample:
    source: Source
    range_days: int | None  # None: an alert rule's own window
    selection: str | None   # ALL, an account name, or None for a dashboard without variables / an alert
    ms: float
    rows: int

    @property
    def label(self) -> str:
        where = f"{self.source.where} · {self.source.title}"
        if self.range_days is None:
            return f"{where} [alert window]"
        return f"{where} [{self.range_days} d, {self.selection or '-'}]"


class _TimedClient:
    """A clickhouse-connect client whose queries are timed, one sample each."""

    def __init__(self, client, record: Callable[[str, float, int], None]) -> None:
        self._client, self._record = client, record

    def query(self, sql: str, **options: Any):
        started = time.perf_counter()
        result = self._client.query(sql, **options)
        self._record(sql, (time.perf_counter() - started) * 1000, len(result.result_rows))
        return result


def _busiest_account(variables: list[Variable]) -> str | None:
    """The first choice of the ``account`` variable (its query orders the busiest first);
    its values are hex-encoded names."""
    account = next((v for v in variables if v.name == "account"), None)
    if account is None or not account.options:
        return None
    return bytes.fromhex(account.options[0]).decode()


def run_pass(reader, now: datetime, grafana_dir: Path | None = None,
             ranges_days: tuple[int, ...] = RANGES_DAYS) -> list[Sample]:
    """One pass of every ClickHouse query: each dashboard (variable and panels) over each range,
    with All and with the busiest account, then each alert rule's query."""
    samples: list[Sample] = []
    sources = provisioned_queries(grafana_dir)
    by_text = {(s.kind, s.where, s.text): s for s in sources}
    boards = [b for b in provisioning.dashboards(grafana_dir)
              if any(s.where == b["uid"] and s.kind != "alert" for s in sources)]
    for board in boards:
        for days in ranges_days:
            time_range = TimeRange(now - timedelta(days=days), now)
            busiest: str | None = None
            for selection in (ALL, "busiest"):
                if selection == "busiest" and busiest is None:
                    continue  # no account variable, or no account in this range
                shown = ALL if selection == ALL else busiest
                variable_source = next((s for s in sources if s.kind == "variable" and s.where == board["uid"]), None)

                def record_variable(sql: str, ms: float, rows: int) -> None:
                    samples.append(Sample(variable_source, days, shown, ms, rows))

                chosen = {"account": [busiest]} if selection == "busiest" else None
                variables = resolve_variables(_TimedClient(reader, record_variable), board, time_range, chosen)
                if selection == ALL:
                    busiest = _busiest_account(variables)
                has_variables = bool(variables)
                for query in panel_queries(board, time_range):
                    if query.datasource_type != provisioning.CLICKHOUSE_TYPE:
                        continue
                    if selection != ALL and not has_variables:
                        continue
                    source = by_text[("panel", board["uid"], query.text)]
                    started = time.perf_counter()
                    frame = run_sql(reader, query.clickhouse_sql(time_range, variables))
                    samples.append(Sample(source, days, shown if has_variables else None,
                                          (time.perf_counter() - started) * 1000, len(frame.rows)))
    for rule in provisioning.alert_rules(grafana_dir):
        for query in rule.rule["data"]:
            source = by_text.get(("alert", rule.uid, query.get("model", {}).get("rawSql")))
            if source is None:
                continue
            span = query["relativeTimeRange"]
            window = TimeRange(now - timedelta(seconds=span["from"]), now - timedelta(seconds=span["to"]))
            sql = alert_sql(query["model"]["rawSql"], window, int(query["model"].get("intervalMs", 1000)))
            started = time.perf_counter()
            frame = run_sql(reader, sql)
            samples.append(Sample(source, None, None, (time.perf_counter() - started) * 1000, len(frame.rows)))
    return samples


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in (0, 1]): a value that was measured."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarise(samples: list[Sample], slowest: int = 5) -> dict:
    """p50/p95/max over every sample; the slowest queries by their worst run."""
    times = [s.ms for s in samples]
    worst: dict[str, float] = {}
    for sample in samples:
        worst[sample.label] = max(worst.get(sample.label, 0.0), sample.ms)
    return {
        "dashboard_query_p50_ms": round(percentile(times, 0.50), 1),
        "dashboard_query_p95_ms": round(percentile(times, 0.95), 1),
        "dashboard_query_max_ms": round(max(times), 1),
        "dashboard_queries": len(samples),
        "dashboard_slowest": [{"query": label, "max_ms": round(ms, 1)}
                              for label, ms in sorted(worst.items(), key=lambda item: -item[1])[:slowest]],
    }


def time_queries(reader, now: datetime, repeats: int, grafana_dir: Path | None = None) -> list[Sample]:
    samples: list[Sample] = []
    for _ in range(repeats):
        samples.extend(run_pass(reader, now, grafana_dir))
    return samples


# --- the load -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Load:
    """About N simulated events among ``accounts`` accounts at a steady pace: simulations of
    ``period_days`` days and ``period_events`` events each, one after the other up to today (the
    same accounts: names come from the seed), so that the last 30 days hold as much activity
    after twelve periods as after one. The first period's backstory (the follow graph before it,
    dated in the four weeks before) is sent; the later periods continue the graph the earlier ones
    left, so theirs are not. Less than a period: fewer days at the same pace.

    The simulator spreads its budget with the graph as it stands when its window opens, so one
    long simulation would get busier every day as its graph grows: hence periods."""

    events: int
    period_events: int = 1_000_000  # about 33,000 a day: the 2.1 M events in 60 days
    period_days: int = 30
    accounts: int = 25_000
    seed: int = 1

    @property
    def _backstory(self) -> float:
        """The share of a simulation's budget that is its backstory (services.simulate.model)."""
        return GRAPH_SHARE / (1 + self.period_days * (DAILY_FOLLOW_GAIN + DAILY_UNFOLLOW))

    @property
    def periods(self) -> int:
        """The first period brings its backstory, every period its days."""
        window = self.period_events * (1 - self._backstory)
        return max(1, round((self.events - self.period_events * self._backstory) / window))

    @property
    def days(self) -> int:
        if self.events >= self.period_events:
            return self.periods * self.period_days
        return max(1, round(self.period_days * self.events / self.period_events))

    def simulations(self) -> list[SimulationConfig]:
        """Oldest first, each of the same size: the same pace whatever the history."""
        if self.events < self.period_events:  # less than a period: fewer days at the same pace
            return [SimulationConfig(seed=self.seed, end=start_of_today(), days=self.days, events=max(self.events, 100),
                                     accounts=self.accounts)]
        end = start_of_today()
        return [SimulationConfig(seed=self.seed, end=end - timedelta(days=self.period_days * (self.periods - 1 - k)),
                                 days=self.period_days, events=self.period_events, accounts=self.accounts)
                for k in range(self.periods)]

    def stream(self) -> Iterator[dict]:
        for k, config in enumerate(self.simulations()):
            events = simulate(config)
            if k:
                window_start = int(config.start.timestamp() * 1000)
                events = (event for event in events if event["ts"] >= window_start)
            yield from events


class LoadedStack:
    """A ClickHouse server of its own (the dashboards query the database ``richness``) and the
    pipeline writing it, on the bench's broker with topics and consumer groups of their own."""

    def __init__(self, bench, home: Path) -> None:
        self.bench, self.home = bench, home
        self.processes: list = []
        http_port, tcp_port = free_port(), free_port()
        self.admin_password, reader_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.clickhouse_spec = components.clickhouse(
            home / "clickhouse", http_port=http_port, tcp_port=tcp_port, admin_user="richness",
            admin_password=self.admin_password, reader_user="richness_reader", reader_password=reader_password)
        self.api_key = secrets.token_urlsafe(16)
        # (model_copy does not validate: secrets go in as SecretStr)
        self.settings = bench.fresh_settings(
            clickhouse_url=f"http://127.0.0.1:{http_port}", clickhouse_user="richness",
            clickhouse_password=SecretStr(self.admin_password), clickhouse_reader_user="richness_reader",
            clickhouse_reader_password=SecretStr(reader_password), api_keys=[SecretStr(self.api_key)],
            state_dir=home / "processor")

    def __enter__(self) -> "LoadedStack":
        try:
            self._start(self.clickhouse_spec)
            migrate(connect(self.settings))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for running in reversed(self.processes):
            stop(running)
        self.processes.clear()

    def _start(self, spec):
        running = spawn(spec, self.bench.logs)
        self.processes.append(running)
        wait_healthy(spec, running)
        return running

    def load(self, load: Load, report: Report) -> float:
        """Send the simulation through the ingest API with the pipeline running, then drain;
        returns the seconds it took."""
        env, ingest_port = self.settings.to_env(), free_port()
        pipeline = [self._start(spec) for spec in (
            components.ingest(env, ingest_port),
            components.processor("events", env, free_port(), self.home / "processor" / "events"),
            components.processor("accounts", env, free_port(), self.home / "processor" / "accounts"),
            components.worker("sink", "services.sink", env, free_port()))]
        started = time.perf_counter()
        try:
            step = max(load.events // 10, 1)
            shown = [0]

            def progress(summary) -> None:
                if summary.sent >= shown[0] + step:
                    shown[0] = summary.sent
                    report(f"dashboards {load.events:,}: sent {summary.sent:,} events "
                           f"({summary.events_per_s:,.0f} ev/s)")

            with EventSender(f"http://127.0.0.1:{ingest_port}", self.api_key) as sender:
                summary = post_events(load.stream(), sender, batch_size=10_000, progress=progress)
            if summary.rejected:
                raise RuntimeError(f"the ingest API rejected {summary.rejected:,} simulated events: "
                                   f"{summary.errors[:3]}")
            timeout_s = max(600.0, load.events / 2_000)
            if not asyncio.run(drain(self.settings, timeout_s)):
                raise RuntimeError(f"the pipeline did not drain {summary.accepted:,} events in {timeout_s:.0f} s; "
                                   f"see the logs in {self.bench.logs}")
        finally:
            for running in reversed(pipeline):
                stop(running)
                self.processes.remove(running)
        self.sent = summary.accepted
        return time.perf_counter() - started

    def settle(self, timeout_s: float = 300.0) -> int:
        """Wait until ClickHouse has no merge running (as on a server between bursts of
        inserts); returns the number of active parts of the project's tables."""
        admin = connect(self.settings)
        deadline = time.monotonic() + timeout_s
        quiet_since = None
        while time.monotonic() < deadline:
            merging = admin.query("SELECT count() FROM system.merges WHERE database = 'richness'").result_rows[0][0]
            if merging:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= 3:
                break
            time.sleep(0.5)
        return admin.query("SELECT count() FROM system.parts WHERE database = 'richness' AND active").result_rows[0][0]

    def reader(self):
        return connect(self.settings, reader=True)


def measure(bench, load: Load, repeats: int, report: Report, keep: bool = False) -> dict:
    """Load ``load`` through the pipeline into a fresh ClickHouse and time every dashboard and
    alert query; the figures of one size."""
    home = bench.dir / f"dashboards-{load.events}"
    try:
        with LoadedStack(bench, home) as stack:
            seconds = stack.load(load, report)
            parts = stack.settle()
            now = datetime.now(timezone.utc)
            samples = time_queries(stack.reader(), now, repeats)
    finally:
        if not keep:
            shutil.rmtree(home, ignore_errors=True)
    figures = summarise(samples)
    report(f"dashboards at {stack.sent:,} events ({load.days} days, {load.accounts:,} accounts; loaded and drained "
           f"in {seconds:.0f} s, {parts} parts): {figures['dashboard_queries']} queries, "
           f"p50 {figures['dashboard_query_p50_ms']:.0f} ms, p95 {figures['dashboard_query_p95_ms']:.0f} ms, "
           f"max {figures['dashboard_query_max_ms']:.0f} ms")
    for slow in figures["dashboard_slowest"]:
        report(f"  {slow['max_ms']:7.1f} ms  {slow['query']}")
    return {"events": stack.sent, "days": load.days, "accounts": load.accounts, **figures}


def figures(bench, sizes: list[int], repeats: int, report: Report, **load: Any) -> dict:
    """The stage's figures for the bench's JSON line: those of the largest size, and a row per
    size (``dashboard_scaling``) when there are several. ``load``: Load's other fields."""
    if not sizes:
        return {}
    rows = [measure(bench, Load(size, **load), repeats, report) for size in sorted(sizes)]
    largest = rows[-1]
    result = {key: largest[key] for key in ("dashboard_query_p50_ms", "dashboard_query_p95_ms",
                                             "dashboard_query_max_ms", "dashboard_slowest")}
    result["dashboard_events"] = largest["events"]
    if len(rows) > 1:
        result["dashboard_scaling"] = [{key: row[key] for key in (
            "events", "days", "accounts", "dashboard_query_p50_ms", "dashboard_query_p95_ms", "dashboard_query_max_ms")}
            for row in rows]
    return result


def main() -> None:
    """This stage alone: ``python -m services.bench.dashboards --events N [--events N …]``."""
    from services.bench.run import Bench, Plan  # noqa: PLC0415 - run imports this module

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append", help="events to load (repeat for several sizes)")
    parser.add_argument("--repeats", type=int, default=3, help="passes over every query")
    args = parser.parse_args()
    bench = Bench(Plan(), report=print)
    try:
        with bench:
            result = figures(bench, args.events or [100_000], args.repeats, print)
    finally:
        shutil.rmtree(bench.dir, ignore_errors=True)
    print(json.dumps(result, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
