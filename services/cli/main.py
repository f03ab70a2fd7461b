"""``richness``: run the local stack and work with it (contract §5)."""
from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from services.alerts.commands import register as register_alert_commands
from services.cli.keys import keys_app
from services.demo.run import DemoFailed, DemoOptions, run_demo
from services.importers.engine import ImportFailed, import_file
from services.importers.sources import FORMATS, ImportOptions
from services.simulate.command import run_simulation
from services.simulate.model import Drop, SimulationConfig, start_of_today
from services.simulate.sender import SendFailed

from services.stack.drain import DrainBlocked, drain as pipeline_drain
from services.stack.processes import StackError
from services.stack.supervisor import DEFAULT_DATA_DIR, LocalStack, ingest_target
from shared.clickhouse.layout import LayoutError
from shared.clickhouse.schema import apply as apply_schema
from shared.config import Settings

app = typer.Typer(help="Richness: measure the quality of social engagement, live.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)  # never break paths in error messages

DataDir = typer.Option(DEFAULT_DATA_DIR, "--data-dir", help="Where the local stack keeps its state, data and logs.")


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


class EventLogChoice(str, Enum):
    durable = "durable"
    memory = "memory"


@app.command()
def up(data_dir: Path = DataDir,
       event_log: EventLogChoice = typer.Option(None, "--event-log", envvar="RICHNESS_STACK_EVENT_LOG",
                                                help="durable (default): the event log survives down/up and crashes. "
                                          "memory: gone at every down; for tests and experiments.")) -> None:
    """Start the local stack under a supervisor in the background; return once every component
    is healthy. The supervisor restarts any component that exits."""
    stack = LocalStack(data_dir)
    warnings: list[str] = []
    try:
        with console.status("starting the local stack…") as status:
            info = stack.up(report=lambda msg: status.update(msg + "…"), warn=warnings.append,
                            event_log=event_log.value if event_log else None)
    except StackError as exc:
        fail(str(exc))
    for warning in warnings:
        err.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    table = Table(show_header=False, box=None)
    table.add_row("ingest URL", info.ingest_url)
    table.add_row("API key", info.api_key)
    table.add_row("ClickHouse URL", info.clickhouse_url)
    table.add_row("ClickHouse reader", f"{info.clickhouse_reader_user} / {info.clickhouse_reader_password}")
    table.add_row("Kafka bootstrap", f"{info.kafka_bootstrap} ({EVENT_LOGS[info.event_log]})")
    table.add_row("Prometheus", info.prometheus_url or "not installed")
    if info.alertmanager_url:
        table.add_row("Alertmanager", info.alertmanager_url)
    table.add_row("stack.json", str(stack.stack_json))
    console.print("[bold green]richness is up[/]")
    console.print(table)


EVENT_LOGS = {"durable": "event log on disk", "memory": "event log in memory: lost at down",
              "external": "external Kafka"}


@app.command()
def down(data_dir: Path = DataDir,
         force: bool = typer.Option(False, "--force", help="Stop even if an in-memory event log still holds "
                                                           "accepted events that are not in ClickHouse.")) -> None:
    """Stop the local stack cleanly. ClickHouse data and the durable event log survive a down/up."""
    stack = LocalStack(data_dir)
    try:
        with console.status("stopping the local stack…") as status:
            stopped = stack.down(report=lambda msg: status.update(msg + "…"), force=force)
    except StackError as exc:
        fail(str(exc))
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status(data_dir: Path = DataDir, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show the supervisor and each component: running or not, restarts, last exit. Exit 1 if
    any is down or keeps failing."""
    stack = LocalStack(data_dir)
    rows = stack.status()
    if as_json:
        console.print_json(json.dumps([row.__dict__ for row in rows]))
    elif not rows:
        console.print(f"no stack has been started in {Path(data_dir).resolve()}")
    else:
        table = Table("component", "pid", "state", "restarts", "last exit")
        table.columns[4].no_wrap = True
        for row in rows:
            state = ("[red]failing[/]" if row.failing else "[green]running[/]" if row.alive and row.state in ("running", "up")
                     else f"[yellow]{row.state}[/]" if row.alive or row.state == "waiting" else f"[red]{row.state}[/]")
            last = (f"{row.last_exit} at {datetime.fromtimestamp(row.last_exit_at).strftime('%H:%M:%S')}"
                    if row.last_exit else "")
            table.add_row(row.name, str(row.pid or ""), state, str(row.restarts), last)
        console.print(table)
        console.print(f"logs: {stack.logs} (supervisor.log: exits and restarts)", highlight=False, soft_wrap=True)
        if problem := stack.problem():
            err.print(f"[bold red]problem:[/] {escape(problem)}", highlight=False)
    if not rows or not all(row.alive and not row.failing for row in rows):
        raise typer.Exit(1)


@app.command()
def drain(timeout: float = typer.Option(120.0, "--timeout", help="Give up after this many seconds."),
          data_dir: Path = DataDir) -> None:
    """Return once every event accepted so far is reflected in the ClickHouse views (exit 1 on
    timeout, or at once when a component of the local stack keeps dying)."""
    settings = _settings(data_dir)
    stack = LocalStack(data_dir)
    problem = stack.problem if stack.stack_json.exists() else (lambda: None)
    last = None

    def show(lag) -> None:
        nonlocal last
        last = lag
        status.update(f"draining: waiting for the broker ({lag.error})" if lag.error else
                      f"draining: processor lag {lag.processor}, sink lag {'…' if lag.sink < 0 else lag.sink}"
                      + (f", {lag.distribution} files waiting for a shard" if lag.distribution > 0 else ""))

    try:
        with console.status("draining…") as status:
            done = asyncio.run(pipeline_drain(settings, timeout, report=show, problem=problem))
    except DrainBlocked as exc:
        fail(f"cannot drain: {exc}")
    if not done:
        where = (f"the lag could not be measured: {last.error}" if last and last.error else
                 f"processor lag {last.processor if last else '?'}, "
                 f"sink lag {last.sink if last and last.sink >= 0 else '?'}"
                 + (f", {last.distribution} files waiting for a shard" if last and last.distribution > 0 else ""))
        fail(f"not drained after {timeout:.0f} s ({where}); see the logs in {data_dir}/logs", code=1)
    console.print("drained: every accepted event is in ClickHouse")


@app.command()
def migrate(data_dir: Path = DataDir) -> None:
    """Apply the ClickHouse schema (idempotent; `richness up` does it too). On a cluster
    (RICHNESS_CLICKHOUSE_CLUSTER) its tables are sharded; see the README."""
    settings = _settings(data_dir)
    try:
        ran = apply_schema(settings)
    except (ValueError, LayoutError) as exc:
        fail(str(exc))
    console.print(f"applied: {', '.join(ran)}" if ran else "schema up to date")


@app.command("import")
def import_(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                        help="Contract NDJSON/CSV, or a platform's export (see --format)."),
            format: str = typer.Option(None, "--format", "-f", help=f"One of {', '.join(FORMATS)}; "
                                       "default: detected from the file, else contract."),
            as_of: datetime = typer.Option(None, "--as-of", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
                                           help="UTC time for follow lists without times (Mastodon CSV, X "
                                                "follower/following.js): when the list was exported."),
            actor: str = typer.Option(None, "--actor", help="Whose export it is where the file does not say "
                                      "(Mastodon CSV: user@server; X archive without account.js: account id)."),
            restart: bool = typer.Option(False, "--restart", help="Ignore an earlier run's progress and send "
                                         "everything again (ids deduplicate: nothing doubles)."),
            output: Path = typer.Option(None, "--output", "-o", dir_okay=False, help="Do not send: write the "
                                        "mapped events to this file as contract NDJSON (to look first)."),
            ingest_url: str = typer.Option(None, envvar="RICHNESS_INGEST_URL",
                                           help="Ingest API base URL (default: the local stack's)."),
            api_key: str = typer.Option(None, envvar="RICHNESS_API_KEY", help="API key (default: the local stack's)."),
            batch_size: int = typer.Option(5000, min=1, max=10_000, help="Events per request."),
            data_dir: Path = DataDir) -> None:
    """Send a file of events through the ingest API. Re-running resumes where it stopped; ids
    are derived from the platform's own, so re-importing never counts anything twice."""
    if format is not None and format not in FORMATS:
        fail(f"unknown format {format!r}: one of {', '.join(FORMATS)}")
    if output is None:
        try:
            ingest_url, api_key = ingest_target(ingest_url, api_key, data_dir)
        except StackError as exc:
            fail(f"{exc}, or give --ingest-url and --api-key")
    options = ImportOptions(as_of=as_of.replace(tzinfo=timezone.utc) if as_of else None, actor=actor,
                            state_dir=Path(data_dir) / "import-state")
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task(f"importing {file.name}", total=file.stat().st_size)
        try:
            with open(output, "wb") if output else contextlib.nullcontext() as out:
                summary = import_file(
                    file, ingest_url, api_key, batch_size=batch_size, format=format, options=options,
                    restart=restart, output=out,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                    stage=lambda what: progress.update(task, description=f"{file.name}: {what}"))
        except ImportFailed as exc:
            fail(f"import stopped: {exc}" + ("" if output else
                                             " (progress is saved: run the same command again to resume)"))
    _print_import_summary(summary, detected=format is None, output=output)
    if output:
        return
    if summary.rejected:
        raise typer.Exit(1)


def _print_import_summary(summary, detected: bool, output: Path | None = None) -> None:
    console.print(f"format: {summary.format}{' (detected)' if detected else ''}")
    for warning in summary.warnings:
        console.print(f"[yellow]note:[/] {escape(warning)}")
    if summary.resumed_from:
        console.print(f"resumed after {summary.unit} {summary.resumed_from:,}")
    if output:
        console.print(f"wrote {summary.sent:,} events to {output} (nothing sent)"
                      + (f"; {summary.rejected:,} records are not valid in their format" if summary.rejected else ""))
    else:
        console.print(f"sent {summary.sent:,} events: [green]{summary.accepted:,} accepted[/], "
                      f"[{'red' if summary.rejected else 'green'}]{summary.rejected:,} rejected[/]")
    if summary.errors:
        table = Table(summary.unit, "id", "why", title="first rejected events")
        for error in summary.errors:
            table.add_row(str(error.line), escape(error.id or ""), escape(error.error))
        console.print(table)
    for title, tallies in (("not imported", summary.skipped), ("imported with a derived value", summary.derived)):
        if tallies:
            table = Table("count", "why", f"first ({summary.unit}: detail)", title=title)
            for tally in tallies.values():
                table.add_row(f"{tally.count:,}", escape(tally.reason), escape("; ".join(tally.examples)))
            console.print(table)


@app.command()
def bench(quick: bool = typer.Option(False, "--quick", help="Smaller runs: done in a few minutes."),
          repeats: int = typer.Option(None, "--repeats", min=1, help="Runs per figure (medians are reported)."),
          imports: bool = typer.Option(False, "--imports", help="Instead: richness import speed per format "
                                       "(a generated file of --import-lines lines each)."),
          import_lines: int = typer.Option(1_000_000, "--import-lines", min=100, help="Lines per format for --imports."),
          cluster: bool = typer.Option(False, "--cluster", help="Instead: sink rows/s, insert rows/s and dashboard "
                                       "query p95 on one ClickHouse server vs a cluster of two shards, on this machine."),
          out: Path = typer.Option(None, "--out", help="Also write the figures as JSON to this file."),
          event_logs: bool = typer.Option(None, "--event-logs/--no-event-logs",
                                          help="Also measure ingest and processor on the durable event log next to "
                                               "the in-memory one (default: on in the full run)."),
          restart_events: int = typer.Option(None, "--restart-events", min=0,
                                             help="Also time `up` of a local stack holding this many events until "
                                                  "ready and drained (default: 10^7 in the full run, 0 = skip)."),
          dashboard_events: list[int] = typer.Option(None, "--dashboard-events", min=0,
                                                     help="Time every dashboard and alert query over this many "
                                                          "simulated events loaded through the pipeline; repeat for "
                                                          "several sizes (default: 10^5 quick, 10^5, 10^6 and 10^7 "
                                                          "full; 0 = skip).")) -> None:
    """Measure each stage against its own limit, side by side on this machine, and end with ONE
    JSON line of figures. Runs on a private broker and ClickHouse (and, for the restart, a local
    stack of its own in a temporary directory); your local stack is not touched."""
    from services.bench.run import Plan, run, summary_line  # noqa: PLC0415 - heavy, only for this command

    report = lambda line: console.print(line, highlight=False, soft_wrap=True)  # noqa: E731
    if imports:
        from services.bench.imports import run_imports  # noqa: PLC0415

        figures = run_imports(import_lines, report=report)
    elif cluster:
        from services.bench.cluster import ClusterPlan, run_cluster  # noqa: PLC0415

        figures = run_cluster(ClusterPlan.quick() if quick else ClusterPlan.full(), report=report)
    else:
        plan = Plan.quick() if quick else Plan.full()
        if repeats:
            plan.repeats = repeats
        if event_logs is not None:
            plan.event_logs = event_logs
        if restart_events is not None:
            plan.restart_events = restart_events
        if dashboard_events:
            plan.dashboard_events = [size for size in dashboard_events if size > 0]
        figures = run(plan, report=report)
    if out:
        out.write_text(json.dumps(figures, indent=2))
    print(summary_line(figures), flush=True)


@app.command()
def simulate(seed: int = typer.Option(1, help="Same seed and options on the same day: the same events, ids included."),
             days: int = typer.Option(14, min=1, help="Days of activity, ending at --end."),
             events: int = typer.Option(50_000, min=100, help="Approximate number of events."),
             accounts: int = typer.Option(None, min=10, help="Number of accounts (default: one per 40 events, at least 30)."),
             end: datetime = typer.Option(None, formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
                                          help="End of the window, UTC (default: today 00:00)."),
             rate: float = typer.Option(0.0, min=0, help="Events per second; 0 = as fast as the API takes them."),
             drop_account: str = typer.Option(None, help="Plant an engagement drop for this account (e.g. robert)."),
             drop_percent: float = typer.Option(60.0, min=0, max=100, help="Share of its replies and clicks that vanish."),
             drop_days: int = typer.Option(1, min=1, help="The drop covers the window's last N days."),
             ingest_url: str = typer.Option(None, envvar="RICHNESS_INGEST_URL",
                                            help="Ingest API base URL (default: the local stack's)."),
             api_key: str = typer.Option(None, envvar="RICHNESS_API_KEY", help="API key (default: the local stack's)."),
             batch_size: int = typer.Option(2000, min=1, max=10_000, help="Events per request."),
             data_dir: Path = DataDir) -> None:
    """Send realistic social activity (a seeded simulation) through the ingest API: a heavy-tailed
    follow graph with churn and follow-backs, reply trees, clicks, a daily rhythm."""
    try:
        ingest_url, api_key = ingest_target(ingest_url, api_key, data_dir)
    except StackError as exc:
        fail(f"{exc}, or give --ingest-url and --api-key")
    config = SimulationConfig(seed=seed, days=days, events=events, accounts=accounts,
                              end=end.replace(tzinfo=timezone.utc) if end else start_of_today(),
                              drop=Drop(drop_account, drop_percent, drop_days) if drop_account else None)
    try:
        summary = run_simulation(config, ingest_url, api_key, console, rate=rate, batch_size=batch_size)
    except (ValueError, SendFailed) as exc:
        fail(str(exc))
    if summary.rejected:
        raise typer.Exit(1)


@app.command()
def demo(data_dir: Path = DataDir,
         seed: int = typer.Option(1, help="Seed of the simulation."),
         days: int = typer.Option(14, min=1, help="Days of simulated activity, ending today 00:00 UTC."),
         events: int = typer.Option(50_000, min=100, help="Approximate number of simulated events."),
         drop_account: str = typer.Option("robert", help="Account whose engagement drops on the last day."),
         drop_percent: float = typer.Option(60.0, min=0, max=100, help="Size of that drop; 0 plants none."),
         seconds: float = typer.Option(20.0, "--seconds", min=0,
                                       help="Spread the activity over this many seconds (live pipeline graphs); "
                                            "0 = as fast as the API takes it.")) -> None:
    """Start the local stack, simulate realistic activity, drain, and show what Richness sees.
    The stack keeps running afterwards (`richness down` stops it)."""
    try:
        run_demo(DemoOptions(data_dir, seed, days, events, drop_account, drop_percent, send_seconds=seconds), console)
    except DemoFailed as exc:
        fail(str(exc))


# --- live connectors (services/connect) ---------------------------------------------------------
connect_app = typer.Typer(help="Live connectors: a platform's stream into the ingest API.", no_args_is_help=True)
app.add_typer(connect_app, name="connect")


@connect_app.command("bluesky")
def connect_bluesky(
        jetstream: str = typer.Option(..., "--jetstream", help="Jetstream WebSocket URL, e.g. "
                                      "wss://jetstream2.us-east.bsky.network/subscribe"),
        wanted_dids: list[str] = typer.Option(None, "--wanted-dids", help="Only these accounts (DIDs; repeat the "
                                              "option or separate with commas). Default: everyone."),
        state: Path = typer.Option(None, "--state", help="Cursor and follows seen (SQLite); default "
                                   "DATA_DIR/import-state/bluesky.sqlite, shared with richness import."),
        metrics_port: int = typer.Option(9465, "--metrics-port", help="Prometheus /metrics on 127.0.0.1."),
        batch_size: int = typer.Option(500, min=1, max=10_000, help="Events per request at most."),
        flush_interval: float = typer.Option(1.0, min=0.05, help="Seconds an event waits for more to batch with."),
        rewind: float = typer.Option(5.0, min=0, help="On (re)start, replay this many seconds before the saved "
                                     "cursor (Jetstream orders only roughly; replays double nothing)."),
        ingest_url: str = typer.Option(None, envvar="RICHNESS_INGEST_URL",
                                       help="Ingest API base URL (default: the local stack's)."),
        api_key: str = typer.Option(None, envvar="RICHNESS_API_KEY", help="API key (default: the local stack's)."),
        data_dir: Path = DataDir) -> None:
    """Follow Bluesky live: Jetstream posts, replies, follows, unfollows, reposts and likes into the
    ingest API, until Ctrl-C. A restart resumes from the last acknowledged position."""
    import logging

    from services.connect.bluesky import ConnectorConfig, ConnectorStopped, default_state_path, run_connector

    try:
        ingest_url, api_key = ingest_target(ingest_url, api_key, data_dir)
    except StackError as exc:
        fail(f"{exc}, or give --ingest-url and --api-key")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    dids = [did.strip() for value in wanted_dids or [] for did in value.split(",") if did.strip()]
    config = ConnectorConfig(jetstream, wanted_dids=dids, batch_size=batch_size, flush_interval_s=flush_interval,
                             rewind_s=rewind)
    state_path = state or default_state_path(data_dir)
    err.print(f"connecting {jetstream} → {ingest_url}; state {state_path}; metrics "
              f"http://127.0.0.1:{metrics_port}/metrics", highlight=False)
    try:
        run_connector(config, ingest_url, api_key, state_path, metrics_port)
    except ConnectorStopped as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot start: {exc}")


# --- dashboards and alerts of grafana/, run without Grafana (services/dashboards) ----------------
dashboards_app = typer.Typer(help="The Grafana dashboards, drawn from ClickHouse without Grafana.", no_args_is_help=True)
alerts_app = typer.Typer(help="The Grafana engagement-drop alert rules without Grafana: check them, watch them and "
                              "notify, receive notifications, configure receivers.", no_args_is_help=True)
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(alerts_app, name="alerts")
app.add_typer(keys_app, name="keys")  # services/cli/keys.py


@dashboards_app.command("render")
def dashboards_render(
        out: Path = typer.Option(Path("dashboards"), "--out", help="Folder for the PNGs, one per dashboard."),
        time_from: str = typer.Option(None, "--from", help="Start: ISO 8601 (UTC unless it has an offset) or now-7d; "
                                                          "default: each dashboard's own range."),
        time_to: str = typer.Option(None, "--to", help="End: ISO 8601 or now-1d; default now."),
        account: list[str] = typer.Option(None, "--account", help="Select this account (repeatable); default All."),
        dashboard: list[str] = typer.Option(None, "--dashboard", help="Only the dashboard with this uid (repeatable)."),
        prometheus_url: str = typer.Option(None, "--prometheus-url", envvar="RICHNESS_PROMETHEUS_URL",
                                           help="Prometheus for the pipeline-health panels (default: the local "
                                                "stack's, when it runs one)."),
        data_dir: Path = DataDir) -> None:
    """Draw each dashboard to a PNG from the data Grafana would show (read-only ClickHouse user)."""
    from clickhouse_connect.driver.exceptions import ClickHouseError
    from services.dashboards.queries import relative_time
    from services.dashboards.render import render_dashboards  # matplotlib loads only for this command

    now = datetime.now(timezone.utc)
    prometheus = {"prometheus_url": prometheus_url}
    stack = LocalStack(data_dir)
    if prometheus_url is None and stack.stack_json.exists() and stack.info().prometheus_url:
        info = stack.info()
        prometheus = {"prometheus_url": info.prometheus_url, "scrape_interval": info.prometheus_scrape_interval}
    try:
        paths = render_dashboards(_settings(data_dir), out, time_from and relative_time(time_from, now),
                                  time_to and relative_time(time_to, now), account, uids=dashboard, now=now,
                                  **prometheus)
    except (ValueError, OSError, ClickHouseError, RuntimeError) as exc:
        fail(str(exc))
    for path in paths:
        console.print(f"wrote {path}")
    console.print(f"Prometheus: {prometheus['prometheus_url']}" if prometheus["prometheus_url"] else
                  "Prometheus: none (the pipeline health panels are empty): give --prometheus-url, or run "
                  "`richness up` with Prometheus installed", highlight=False)


@alerts_app.command("check")
def alerts_check(at: str = typer.Option(None, "--at", help="Evaluate as of this instant (ISO 8601); default now."),
                 data_dir: Path = DataDir) -> None:
    """Evaluate the engagement-drop rules and list the accounts that would fire, and why. Exit 0
    whether or not any would fire (1 only if the rules cannot be evaluated)."""
    from clickhouse_connect.driver.exceptions import ClickHouseError
    from services.dashboards.alerts import check_alerts, firing_table
    from services.dashboards.queries import relative_time

    try:
        now = relative_time(at, datetime.now(timezone.utc)) if at else datetime.now(timezone.utc)
        firing = check_alerts(_settings(data_dir), now)
    except (ValueError, OSError, ClickHouseError) as exc:
        fail(str(exc))
    console.print(firing_table(firing, now))


def _settings(data_dir: Path) -> Settings:
    """The running local stack's settings if there is one, else RICHNESS_* from the environment."""
    stack = LocalStack(data_dir)
    if stack.stack_json.exists():
        return stack.client_settings()
    return Settings()


register_alert_commands(alerts_app, DataDir, _settings)  # alerts watch / receive / configure


if __name__ == "__main__":
    app()
