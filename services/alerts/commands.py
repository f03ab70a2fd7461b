"""The ``richness alerts watch | receive | configure`` commands (registered on ``richness alerts``
by services/cli/main.py)."""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from shared.config import Settings

console = Console()
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(1)


def show_notification(payload: dict, target: str, out: Console = console) -> None:
    from services.alerts.receiver import describe  # noqa: PLC0415

    title, message = describe(payload)
    style = "red" if payload.get("status") == "firing" else "green"
    out.print(Panel(escape(message.rstrip()), title=escape(title), subtitle=escape(target), title_align="left",
                    border_style=style, expand=False))


def register(alerts_app: typer.Typer, data_dir_option, settings_for: Callable[[Path], Settings]) -> None:
    @alerts_app.command("watch")
    def watch(every: str = typer.Option("1m", "--every", help="Evaluate the rules this often (30s, 1m, 1h…)."),
              webhook: str = typer.Option(None, "--webhook", envvar="RICHNESS_ALERT_WEBHOOK_URL",
                                          help="POST notifications here (Grafana's webhook JSON); "
                                               "default: show them in this terminal only."),
              pending: str = typer.Option(None, "--pending",
                                          help="Fire after at most this long pending (e.g. 0s) instead of each "
                                               "rule's `for` (2h): for demos and tests."),
              grafana_url: str = typer.Option(None, "--grafana-url", envvar="RICHNESS_ALERT_GRAFANA_URL",
                                              help="Grafana's URL, for the links in notifications."),
              once: bool = typer.Option(False, "--once", help="Evaluate once and exit (for cron)."),
              data_dir: Path = data_dir_option) -> None:
        """Evaluate the engagement-drop rules on a schedule, keep each alert's state (pending, firing,
        resolved; as Grafana does, honouring each rule's `for`), and send one notification per
        change of state. The state survives restarts (<data dir>/alerts/state.json)."""
        from services.alerts.watch import WatchError, Watcher, state_path, webhook as post_to  # noqa: PLC0415
        from services.dashboards.alerts import DEFAULT_GRAFANA_URL  # noqa: PLC0415
        from shared.alerting.state import parse_duration  # noqa: PLC0415
        from shared.grafana import provisioning  # noqa: PLC0415

        try:
            interval = parse_duration(every)
            pending_cap = parse_duration(pending) if pending is not None else None
        except ValueError as exc:
            fail(str(exc))
        if interval < timedelta(seconds=1):
            fail("--every must be at least 1s")
        if webhook and not webhook.startswith(("http://", "https://")):
            fail(f"--webhook must be an http(s) URL, not {webhook!r}")
        rules = provisioning.alert_rules()
        path = state_path(data_dir)
        target = webhook or "this terminal"
        console.print(f"watching {len(rules)} alert rules every {every}; notifications to {escape(target)}; "
                      f"state in {escape(str(path))}", highlight=False)
        if pending_cap is not None:
            declared = ", ".join(sorted({r.rule.get('for', '0s') for r in rules}))
            console.print(f"[yellow]--pending {escape(pending)}:[/] an alert fires after at most {escape(pending)} "
                          f"pending, not after its rule's `for` ({escape(declared)}) as Grafana does. "
                          "For demos and tests.", highlight=False)
        settings = settings_for(data_dir)
        if not (Path(data_dir) / "stack.json").exists() and "RICHNESS_CLICKHOUSE_URL" not in os.environ:
            console.print(f"[yellow]no local stack is up in {escape(str(data_dir))}[/] (`richness up`) and "
                          f"RICHNESS_CLICKHOUSE_URL is not set: evaluating against {settings.clickhouse_url}",
                          highlight=False)
        deliver = post_to(webhook) if webhook else (lambda payload: None)
        try:
            with Watcher(settings, path, deliver, pending=pending_cap,
                         external_url=grafana_url or DEFAULT_GRAFANA_URL) as watcher:
                while True:
                    started = time.monotonic()
                    report = watcher.tick()
                    _show_tick(report, target)
                    if once:
                        break
                    time.sleep(max(0.0, interval.total_seconds() - (time.monotonic() - started)))
        except WatchError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            console.print(f"stopped; the alert state is kept in {escape(str(path))}", highlight=False)

    @alerts_app.command("receive")
    def receive(host: str = typer.Option("127.0.0.1", "--host", help="Listen on this address."),
                port: int = typer.Option(9095, "--port", min=0, max=65535, help="Listen on this port."),
                jsonl: Path = typer.Option(None, "--jsonl", help="Also append every notification to this file."),
                source: Path = typer.Option(None, "--source", help="Grafana's alerting provisioning folder, whose "
                                            "template renders Alertmanager's notifications (default: the project's).")) -> None:
        """A webhook receiver: show every notification posted to it (Grafana's, Alertmanager's or
        `richness alerts watch`'s), as people would read it."""
        from services.alerts import provisioned  # noqa: PLC0415
        from services.alerts.receiver import Received, WebhookReceiver, describe  # noqa: PLC0415

        try:
            templates = provisioned.templates(source)
        except (OSError, ValueError) as exc:  # still receive: bodies without a title show their summaries
            err.print(f"[yellow]no notification template[/] ({escape(str(exc))}): Alertmanager's notifications "
                      "are shown by their summaries", highlight=False)
            templates = None

        def show(item: Received) -> None:
            title, message = describe(item.payload, templates)
            show_notification({**item.payload, "title": title, "message": message},
                              f"{datetime.now(timezone.utc):%H:%M:%S} POST {item.path}")
            if jsonl:
                with open(jsonl, "a") as handle:
                    handle.write(json.dumps({"path": item.path, "payload": item.payload}) + "\n")

        try:
            receiver = WebhookReceiver(host, port, on_receive=show)
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc}")
        console.print(f"receiving notifications on {receiver.url} (Ctrl-C to stop)", highlight=False)
        try:
            receiver.serve_forever()
        except KeyboardInterrupt:
            pass

    @alerts_app.command("configure")
    def configure(source: Path = typer.Option(None, "--source", help="Grafana's alerting provisioning folder "
                                              "(default: the project's grafana/provisioning/alerting)."),
                  grafana_out: Path = typer.Option(None, "--grafana-out", help="Write Grafana's alerting folder here."),
                  alertmanager_out: Path = typer.Option(None, "--alertmanager-out",
                                                        help="Write alertmanager.yml and its template here.")) -> None:
        """Write Grafana's alerting provisioning and Alertmanager's configuration for the receivers
        RICHNESS_ALERT_* give: the webhook (RICHNESS_ALERT_WEBHOOK_URL), plus Slack
        (RICHNESS_ALERT_SLACK_WEBHOOK_URL) and e-mail (RICHNESS_ALERT_EMAIL_TO, RICHNESS_ALERT_SMTP_*)
        when set."""
        from pydantic import ValidationError  # noqa: PLC0415

        from services.alerts import provisioned  # noqa: PLC0415
        from services.alerts.configure import configure as write  # noqa: PLC0415
        from shared.alerting.receivers import AlertSettings, ConfigError  # noqa: PLC0415
        from shared.alerting.routing import PolicyError  # noqa: PLC0415

        if grafana_out is None and alertmanager_out is None:
            fail("nothing to write: give --grafana-out and/or --alertmanager-out")
        try:
            settings = AlertSettings()
            written = write(settings, source or provisioned.alerting_dir(), grafana_out, alertmanager_out)
        except ValidationError as exc:
            fail("; ".join(f"RICHNESS_ALERT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"]
                           else e["msg"] for e in exc.errors()))
        except (ConfigError, PolicyError, OSError) as exc:
            fail(str(exc))
        console.print(f"receivers: {', '.join(settings.channels)}", highlight=False)
        for path in written:
            console.print(f"wrote {escape(str(path))}", highlight=False)


def _show_tick(report, target: str) -> None:
    stamp = f"{report.at:%Y-%m-%d %H:%M:%S} UTC"
    by_error: dict[str, list[str]] = {}
    for uid, error in sorted(report.errors.items()):
        by_error.setdefault(error, []).append(uid)
    for error, uids in by_error.items():
        err.print(f"{stamp} [yellow]not evaluated: {escape(', '.join(uids))}[/] (their alerts keep their state): "
                  f"{escape(error)}", highlight=False)
    for transition in report.transitions:
        labels = ", ".join(f"{k}={v}" for k, v in transition.instance.labels.items()
                           if k not in ("alertname", "grafana_folder"))
        console.print(f"{stamp} {transition.status}: {escape(transition.instance.labels.get('alertname', ''))} "
                      f"({escape(labels)})", highlight=False)
    for payload in report.delivered:
        show_notification(payload, f"delivered to {target}")
    if report.delivery_error:
        err.print(f"{stamp} [yellow]{report.undelivered} notification(s) not delivered yet[/] "
                  f"({escape(report.delivery_error)}); retried at the next evaluation", highlight=False)
    if not (report.transitions or report.delivered or report.errors):
        console.print(f"{stamp} no change: {len(report.firing)} firing, {len(report.pending)} pending",
                      highlight=False, style="dim")
