"""The demo's last step: the planted drop, caught by the rules, delivered to a webhook receiver the
demo starts, with what was delivered shown. The same loop as `richness alerts watch`, for one
evaluation, with the pending period shortened to 0 s (said so), on a state of its own."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from services.alerts.commands import show_notification
from services.alerts.receiver import WebhookReceiver
from services.alerts.watch import Watcher, webhook
from shared.config import Settings


def deliver_alerts(settings: Settings, data_dir: Path, console: Console, planted: str | None) -> list[dict]:
    """Every notification delivered to the demo's receiver (planted: the account whose drop was planted)."""
    state = Path(data_dir).resolve() / "demo" / "alerts-state.json"
    state.unlink(missing_ok=True)  # every demo run delivers afresh
    with WebhookReceiver() as receiver:
        console.print(f"started a webhook receiver on {receiver.url}; evaluating the alert rules once, with "
                      "[yellow]--pending 0s[/] (Grafana keeps an alert pending for the rule's `for`, 2 h, first)",
                      highlight=False)
        with Watcher(settings, state, webhook(receiver.url), pending=timedelta(0)) as watcher:
            report = watcher.tick()
        for uid, error in report.errors.items():
            console.print(f"[red]rule {escape(uid)} could not be evaluated:[/] {escape(error)}", highlight=False)
        delivered = [item.payload for item in receiver.received]
    for payload in delivered:
        show_notification(payload, f"received by {receiver.url}", console)
        summary = {"status": payload["status"], "groupLabels": payload["groupLabels"],
                   "alerts": [{"labels": {k: a["labels"][k] for k in ("alertname", "account") if k in a["labels"]},
                               "values": a["values"], "startsAt": a["startsAt"]} for a in payload["alerts"]]}
        console.print("the JSON body (Grafana's webhook format), in short: " + json.dumps(summary), style="dim",
                      highlight=False, soft_wrap=True)
    if planted:
        reached = any(a["labels"].get("account") == planted for p in delivered for a in p["alerts"])
        console.print(f"the planted drop of {escape(planted)} was "
                      + ("[green]delivered to the webhook[/]" if reached else "[red]not delivered[/]"),
                      highlight=False)
    console.print("keep watching: [bold]richness alerts watch --webhook URL[/] (one notification per change; "
                  "[bold]richness alerts receive[/] is a receiver that shows them)", highlight=False)
    return delivered
