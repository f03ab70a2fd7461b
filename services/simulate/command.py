"""The terminal side of ``richness simulate`` (also a step of ``richness demo``)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.simulate.model import SimulationConfig, simulate
from services.simulate.sender import EventSender, SendSummary, post_events
from shared.events import EVENT_TYPES, MAX_FUTURE_MS


def run_simulation(config: SimulationConfig, ingest_url: str, api_key: str, console: Console, *,
                   rate: float = 0.0, batch_size: int = 2000) -> SendSummary:
    """Generate the simulation, send it with a progress bar, print a summary table.

    Raises ``ValueError`` for an invalid configuration and ``SendFailed`` if the API refuses."""
    config.validate()
    if config.end > datetime.now(timezone.utc) + timedelta(milliseconds=MAX_FUTURE_MS):
        raise ValueError("the simulated window must end before now: the ingest API rejects future events")
    drop = config.drop
    console.print(
        f"simulating {config.days} days ({config.start:%Y-%m-%d} to {config.end:%Y-%m-%d %H:%M} UTC), "
        f"{config.account_count:,} accounts, about {config.events:,} events, seed {config.seed}"
        + (f"; planted drop: {escape(drop.account)} -{drop.percent:g}% on the last {drop.days} day(s)"
           if drop else ""), highlight=False)
    with Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("simulate", total=config.events, speed="")

        def show(summary: SendSummary) -> None:
            progress.update(task, completed=summary.sent, total=max(config.events, summary.sent),
                            speed=f"{summary.events_per_s:,.0f} events/s")

        with EventSender(ingest_url, api_key) as client:
            summary = post_events(simulate(config), client, batch_size=batch_size, rate=rate, progress=show)
        progress.update(task, total=summary.sent, completed=summary.sent)
    console.print(summary_table(summary))
    if summary.errors:
        rejected = Table("id", "why", title="first rejected events")
        for error in summary.errors:
            rejected.add_row(escape(error.id or ""), escape(error.error))
        console.print(rejected)
    return summary


def summary_table(summary: SendSummary) -> Table:
    table = Table(title="simulation sent", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for kind in EVENT_TYPES:
        table.add_row(kind, f"{summary.by_type.get(kind, 0):,}")
    table.add_section()
    table.add_row("sent", f"{summary.sent:,}")
    table.add_row("accepted", f"[green]{summary.accepted:,}[/]")
    table.add_row("rejected", f"[{'red' if summary.rejected else 'green'}]{summary.rejected:,}[/]")
    table.add_row("elapsed", f"{summary.elapsed_s:.1f} s")
    table.add_row("events/s", f"{summary.events_per_s:,.0f}")
    return table
