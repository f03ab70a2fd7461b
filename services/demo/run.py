"""``richness demo``: the whole product on one machine, as a sequence of named steps.

Each step is a function of the shared ``Demo`` state; ``STEPS`` lists them in order, so adding a
step is one function and one line. The stack is left running at the end.
"""
from __future__ import annotations

import asyncio
import shlex
import time
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.demo.report import Report, load_report, render_report
from services.simulate.command import run_simulation
from services.simulate.model import RICH, SimulationConfig, Drop, start_of_today
from services.simulate.sender import SendFailed, SendSummary
from services.stack import probe
from services.stack.drain import Lag, drain
from services.stack.processes import StackError
from services.stack.supervisor import LocalStack, StackInfo
from shared.config import Settings


class DemoFailed(RuntimeError):
    """A step could not complete; the message says which and why."""


@dataclass
class DemoOptions:
    data_dir: Path
    seed: int = 1
    days: int = 14
    events: int = 50_000
    drop_account: str | None = "robert"
    drop_percent: float = 60.0
    # The activity is sent over this many seconds (0: as fast as the API takes it), so the
    # pipeline dashboard has several Prometheus scrapes of live traffic to draw.
    send_seconds: float = 20.0
    drain_timeout_s: float = 600.0


@dataclass
class Demo:
    """What the steps share: the options, the console, and what earlier steps produced."""

    options: DemoOptions
    console: Console
    stack: StackInfo | None = None
    settings: Settings | None = None
    simulation: SimulationConfig | None = None
    sent: SendSummary | None = None
    report: Report | None = None
    firing: list = field(default_factory=list)  # alerts that would fire (services.dashboards.alerts.Firing)
    delivered: list[dict] = field(default_factory=list)  # notifications the demo's webhook received
    pictures: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)


def start_stack(demo: Demo) -> None:
    stack = LocalStack(demo.options.data_dir)
    components = stack.status()
    try:
        if components and all(c.alive for c in components) and stack.stack_json.exists():
            demo.console.print(f"the local stack in {stack.dir} is already up: using it")
        else:
            with demo.console.status("starting the local stack…") as status:
                stack.up(report=lambda message: status.update(message + "…"))
            demo.console.print(f"started the local stack in {stack.dir}")
        demo.stack = stack.info()
        demo.settings = stack.client_settings()
    except StackError as exc:
        raise DemoFailed(str(exc)) from exc


def simulate_activity(demo: Demo) -> None:
    options = demo.options
    drop = Drop(options.drop_account, options.drop_percent) if options.drop_account and options.drop_percent else None
    demo.simulation = SimulationConfig(seed=options.seed, end=start_of_today(), days=options.days,
                                       events=options.events, drop=drop)
    try:
        rate = options.events / options.send_seconds if options.send_seconds else 0.0
        demo.sent = run_simulation(demo.simulation, demo.stack.ingest_url, demo.stack.api_key, demo.console,
                                   rate=rate, batch_size=min(2000, max(100, int(rate / 4))) if rate else 2000)
    except (ValueError, SendFailed) as exc:
        raise DemoFailed(f"the simulation failed: {exc}") from exc
    if demo.sent.rejected:
        raise DemoFailed(f"the ingest API rejected {demo.sent.rejected:,} simulated events")


def drain_pipeline(demo: Demo) -> None:
    """Wait until the processor and the sink have caught up, with the backlog as a progress bar
    (Kafka records, each a batch of events)."""
    with Progress(TextColumn("draining"), BarColumn(), TextColumn("{task.fields[lag]}"), TimeElapsedColumn(),
                  console=demo.console) as progress:
        task = progress.add_task("drain", total=None, lag="")
        largest = 0

        def show(lag: Lag) -> None:
            nonlocal largest
            behind = lag.processor + max(lag.sink, 0)
            largest = max(largest, behind, 1)
            progress.update(task, total=largest, completed=largest - behind,
                            lag=f"processor {lag.processor:,} behind, sink "
                                f"{'…' if lag.sink < 0 else f'{lag.sink:,}'} behind")

        drained = asyncio.run(drain(demo.settings, demo.options.drain_timeout_s, report=show))
    if not drained:
        raise DemoFailed(f"the pipeline did not drain within {demo.options.drain_timeout_s:.0f} s; "
                         f"see the logs in {Path(demo.options.data_dir).resolve() / 'logs'}")
    demo.console.print("every accepted event is in ClickHouse")


def show_report(demo: Demo) -> None:
    demo.report = load_report(demo.settings)
    render_report(demo.report, demo.console)


def where_to_look_next(demo: Demo) -> None:
    info, console = demo.stack, demo.console
    credentials = Table(show_header=False, box=None)
    credentials.add_row("ClickHouse HTTP", info.clickhouse_url)
    credentials.add_row("read-only user", info.clickhouse_reader_user)
    credentials.add_row("password", info.clickhouse_reader_password)
    credentials.add_row("database", "richness (views: events, account_daily, threads, followers)")
    credentials.add_row("ingest API", f"{info.ingest_url}/v1/events (Bearer {info.api_key})")
    console.print(credentials)

    watched = demo.simulation.drop.account if demo.simulation and demo.simulation.drop else RICH
    console.print("\n[bold]Ask ClickHouse yourself[/] (any SQL client works; here with curl):")
    for what, sql in example_queries(watched):
        command = (f"curl -s -u {shlex.quote(info.clickhouse_reader_user + ':' + info.clickhouse_reader_password)} "
                   f"{shlex.quote(info.clickhouse_url)} --data-binary {_double_quoted(sql + ' FORMAT PrettyCompact')}")
        console.print(f"# {what}", style="dim", highlight=False)
        console.print(escape(command), highlight=False, soft_wrap=True)

    console.print(
        "\n[bold]Grafana[/]: the local stack does not run Grafana. Point one at ClickHouse with the "
        "official plugin (grafana-clickhouse-datasource): server 127.0.0.1, port "
        f"{info.clickhouse_url.rsplit(':', 1)[-1]}, protocol HTTP, the read-only user above, default "
        "database richness. grafana/provisioning/ holds that data source, the dashboards provider "
        "(dashboards from grafana/dashboards/) and alerting; `docker compose up -d` "
        "(docker-compose.yml) runs Grafana with all of it on http://127.0.0.1:3000.", highlight=False)
    console.print(f"\nThe stack keeps running. Stop it with: "
                  f"[bold]richness down --data-dir {shlex.quote(str(demo.options.data_dir))}[/]",
                  highlight=False)


def example_queries(account: str) -> list[tuple[str, str]]:
    """Queries against the contract views; ``account`` is quoted as an SQL string literal."""
    literal = "'" + account.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return [
        (f"{account}, day by day (a planted drop shows on the last day)",
         "SELECT day, followers, replies_received, clicks, round(engagement_per_follower, 2) AS per_follower "
         f"FROM richness.account_daily WHERE account = {literal} ORDER BY day DESC LIMIT 7"),
        ("the deepest conversations",
         "SELECT owner, root_id, replies, max_depth, participants, owner_replies "
         "FROM richness.threads ORDER BY max_depth DESC, participants DESC LIMIT 5"),
        ("the biggest accounts: silent followers and follow-back ratio",
         "SELECT account, count() AS followers, countIf(replies = 0 AND clicks = 0) AS silent, "
         "round(countIf(mutual) / count(), 2) AS follow_back_ratio FROM richness.followers "
         "GROUP BY account ORDER BY followers DESC LIMIT 10"),
        ("money speaks: the followers who bought the most and kept it",
         "SELECT account, follower, kept_revenue, conversions, shares, likes FROM richness.followers "
         "ORDER BY kept_revenue DESC LIMIT 10"),
    ]


def _double_quoted(text: str) -> str:
    """A shell word in double quotes, so SQL's single-quoted strings read as they are."""
    return '"' + "".join("\\" + c if c in '\\"$`' else c for c in text) + '"'


def catch_the_drop(demo: Demo) -> None:
    from services.dashboards.alerts import check_alerts, firing_table  # noqa: PLC0415 - loads the rules

    now = datetime.now(timezone.utc)
    demo.firing = check_alerts(demo.settings, now)
    demo.console.print(firing_table(demo.firing, now))
    planted = demo.options.drop_account
    if planted and demo.options.drop_percent:
        caught = any(alert.labels.get("account") == planted for alert in demo.firing)
        demo.console.print(f"the planted {demo.options.drop_percent:g}% drop of {planted} was "
                           + ("[green]caught[/]" if caught else "[red]not caught[/]"), highlight=False)
    demo.console.print("the same check, any time: [bold]richness alerts check[/]", highlight=False)


def draw_dashboards(demo: Demo) -> None:
    """The engagement dashboards over their own ranges; the pipeline's (Prometheus) over the
    demo's minutes, from the stack's Prometheus when it runs one."""
    from services.dashboards.render import render_dashboards  # noqa: PLC0415 - matplotlib is slow to load
    from shared.grafana import provisioning  # noqa: PLC0415

    out = demo.options.data_dir / "dashboards"
    boards = provisioning.dashboards()
    live = [b["uid"] for b in boards if any(provisioning.target_datasource(panel, target).get("type")
                                                == provisioning.PROMETHEUS_TYPE
                                                for panel in provisioning.panels(b) for target in panel.get("targets", []))]
    prometheus = {}
    if demo.stack.prometheus_url:
        prometheus = {"prometheus_url": demo.stack.prometheus_url, "scrape_interval": demo.stack.prometheus_scrape_interval}
        wait_for_scrape(demo.stack.prometheus_url, after=time.time())  # the drained state, scraped
    else:
        demo.console.print("no Prometheus in this stack: the pipeline dashboard shows no data "
                           "(install Debian's prometheus and restart the stack)", style="yellow", highlight=False)
    with demo.console.status("drawing the Grafana dashboards from ClickHouse and Prometheus…"):
        now = datetime.now(timezone.utc)
        demo.pictures = render_dashboards(demo.settings, out, uids=[b["uid"] for b in boards if b["uid"] not in live],
                                          now=now, **prometheus)
        if live:
            window_start = now - timedelta(seconds=max(30.0, time.monotonic() - demo.started + 5))
            demo.pictures += render_dashboards(demo.settings, out, window_start, now, uids=live, now=now, **prometheus)
    for path in sorted(demo.pictures):
        demo.console.print(f"wrote {path}", highlight=False)
    if live and demo.stack.prometheus_url:
        demo.console.print(f"the pipeline health dashboard shows this run, live from Prometheus at "
                           f"{demo.stack.prometheus_url}", highlight=False)
    demo.console.print("redraw them any time: [bold]richness dashboards render --out DIR[/]", highlight=False)


def wait_for_scrape(prometheus_url: str, after: float, timeout_s: float = 30.0) -> None:
    """Until Prometheus has scraped every target once more since ``after`` (Unix time)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            targets = probe.get(f"{prometheus_url}/api/v1/targets", 5).json()["data"]["activeTargets"]
            if targets and all(datetime.fromisoformat(t["lastScrape"].replace("Z", "+00:00")).timestamp() > after
                               for t in targets):
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.5)


def deliver_the_alert(demo: Demo) -> None:
    from services.alerts.demo import deliver_alerts  # noqa: PLC0415

    planted = demo.options.drop_account if demo.options.drop_percent else None
    demo.delivered = deliver_alerts(demo.settings, demo.options.data_dir, demo.console, planted)


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("Start the local stack", start_stack),
    ("Simulate realistic social activity", simulate_activity),
    ("Wait until ClickHouse has every event", drain_pipeline),
    ("What Richness sees", show_report),
    ("Catch the planted engagement drop", catch_the_drop),
    ("Draw the dashboards", draw_dashboards),
    ("Where to look next", where_to_look_next),
    ("Deliver the alert to a webhook", deliver_the_alert),
]


def run_demo(options: DemoOptions, console: Console) -> Demo:
    demo = Demo(options, console)
    for number, (title, step) in enumerate(STEPS, 1):
        console.rule(f"[bold]{number}/{len(STEPS)} {title}")
        started = time.monotonic()
        step(demo)
        demo.timings[title] = time.monotonic() - started
    console.print(f"demo done in {sum(demo.timings.values()):.0f} s ("
                  + "; ".join(f"{title}: {seconds:.1f} s" for title, seconds in demo.timings.items())
                  + ")", highlight=False)
    return demo
