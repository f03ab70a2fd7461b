"""``richness alerts watch``: the engagement rules evaluated on a schedule against the local stack,
with Grafana's alert state, and a notification for each change of state.

A thin adapter: the rules are evaluated by services/dashboards/alerts.py (the Grafana provisioning
files, as Grafana runs them), the state machine is shared/alerting/state.py, the notification
bodies shared/alerting/notifications.py. This module keeps the state file and delivers.

The state file (``<data dir>/alerts/state.json``) holds every pending or firing instance and the
notifications not yet delivered (the outbox). A tick: evaluate, compute the transitions, write
them to the outbox and the new states to the file (one atomic write), then deliver the outbox in
order, removing each delivered notification from the file. So a restart neither repeats a state
change nor loses one; a notification whose delivery was interrupted by a crash between the POST
and the file write is sent again (at-least-once: each alert's ``fingerprint`` + ``status`` +
``startsAt`` identify it). A receiver that is down is retried at the next tick, in order.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import httpx

from services.alerts import provisioned
from services.dashboards.alerts import DEFAULT_GRAFANA_URL, evaluate_rule
from shared.alerting.notifications import notifications
from shared.alerting.state import Instance, Observation, Transition, from_json, parse_duration, step, to_json
from shared.clickhouse.client import connect
from shared.config import Settings
from shared.grafana import provisioning

STATE_VERSION = 1


class WatchError(RuntimeError):
    """The watcher cannot run (state file locked or unreadable…); the message says why."""


class DeliveryFailed(RuntimeError):
    pass


Deliver = Callable[[dict[str, Any]], None]  # raises DeliveryFailed (or an httpx error) when not delivered


def webhook(url: str, timeout_s: float = 10.0) -> Deliver:
    """POST each notification as JSON, like Grafana's webhook contact point; 2xx = delivered."""
    def post(payload: dict[str, Any]) -> None:
        response = httpx.post(url, json=payload, timeout=timeout_s)
        if not response.is_success:
            raise DeliveryFailed(f"{url} answered {response.status_code}")
    return post


def state_path(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "alerts" / "state.json"


@dataclass
class Tick:
    """What one evaluation did."""

    at: datetime
    transitions: list[Transition] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    undelivered: int = 0                                   # notifications still in the outbox
    delivery_error: str | None = None
    errors: dict[str, str] = field(default_factory=dict)   # rule uid -> why it could not be evaluated
    pending: list[Instance] = field(default_factory=list)
    firing: list[Instance] = field(default_factory=list)


class Watcher(AbstractContextManager):
    """Holds the state file (locked: one watcher per data dir) while in its ``with`` block."""

    def __init__(self, settings: Settings, path: Path, deliver: Deliver, *, pending: timedelta | None = None,
                 external_url: str = DEFAULT_GRAFANA_URL, grafana_dir: Path | None = None):
        self.settings = settings
        self.path = Path(path)
        self.deliver = deliver
        self.pending_override = pending
        self.external_url = external_url if external_url.endswith("/") else external_url + "/"
        self.grafana_dir = grafana_dir
        self._lock = None
        self.states: dict[str, Instance] = {}
        self.outbox: list[dict[str, Any]] = []

    # --- state file -------------------------------------------------------------------------------
    def __enter__(self) -> "Watcher":
        # clickhouse-connect logs every failed request; the tick reports it once, with the rules concerned.
        logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.path.with_name(self.path.name + ".lock"), "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise WatchError(f"another `richness alerts watch` uses {self.path}; stop it first") from None
        self._load()
        return self

    def __exit__(self, *exc) -> None:
        if self._lock:
            self._lock.close()
            self._lock = None

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text())
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {STATE_VERSION}")
            self.states = from_json(data["instances"])
            self.outbox = list(data["outbox"])
        except (ValueError, KeyError, TypeError) as exc:
            raise WatchError(f"cannot read the alert state in {self.path}: {exc}. Move it away to start "
                             "afresh (alerts firing now will then be notified again)") from None

    def _save(self) -> None:
        data = {"version": STATE_VERSION, "instances": to_json(self.states), "outbox": self.outbox}
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as handle:
            json.dump(data, handle, indent=1, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.path)

    # --- one evaluation ---------------------------------------------------------------------------
    def pending_for(self, rule: provisioning.AlertRule) -> timedelta:
        declared = parse_duration(rule.rule.get("for", "0s"))
        return declared if self.pending_override is None else min(declared, self.pending_override)

    def tick(self, now: datetime | None = None) -> Tick:
        if self._lock is None:
            raise WatchError("use the watcher in a `with` block")
        now = now or datetime.now(timezone.utc)
        report = Tick(now)
        rules = provisioning.alert_rules(self.grafana_dir)
        observed, evaluated = self._evaluate(rules, now, report)
        self.states, report.transitions = step(self.states, now, {r.uid: self.pending_for(r) for r in rules},
                                               evaluated, observed)
        if report.transitions:
            folder = provisioned.alerting_dir(self.grafana_dir)
            self.outbox.extend(notifications(report.transitions, provisioned.policy(folder),
                                             provisioned.templates(folder), self.external_url))
        self._save()  # the transitions are recorded before anything is sent
        self._deliver(report)
        report.pending = [i for i in self.states.values() if i.state == "pending"]
        report.firing = [i for i in self.states.values() if i.state == "firing"]
        return report

    def _evaluate(self, rules: list[provisioning.AlertRule], now: datetime,
                  report: Tick) -> tuple[list[Observation], set[str]]:
        observed: list[Observation] = []
        evaluated: set[str] = set()
        try:
            client = connect(self.settings, reader=True)
            sources = provisioning.datasources(self.grafana_dir)
        except Exception as exc:  # noqa: BLE001 - reported; the states stay as they are
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            report.errors = {rule.uid: f"cannot reach ClickHouse at {self.settings.clickhouse_url} ({reason})"
                             for rule in rules}
            return observed, evaluated
        for rule in rules:
            try:
                found = evaluate_rule(client, sources, rule, now, self.external_url)
            except Exception as exc:  # noqa: BLE001 - one rule's failure must not stop the others
                report.errors[rule.uid] = str(exc)
                continue
            evaluated.add(rule.uid)
            observed.extend(self._observation(rule, firing) for firing in found)
        return observed, evaluated

    def _observation(self, rule: provisioning.AlertRule, firing) -> Observation:
        # The labels Grafana gives an alert: its name and folder, the rule's labels, the query's.
        labels = {"alertname": rule.title, "grafana_folder": rule.group.get("folder", ""),
                  **rule.rule.get("labels", {}), **firing.labels}
        links = {"generatorURL": f"{self.external_url}alerting/grafana/{rule.uid}/view?orgId=1"}
        if rule.rule.get("dashboardUid"):
            links["dashboardURL"] = f"{self.external_url}d/{rule.rule['dashboardUid']}?orgId=1"
            if rule.rule.get("panelId") is not None:
                links["panelURL"] = f"{links['dashboardURL']}&viewPanel={rule.rule['panelId']}"
        return Observation(rule.uid, labels, firing.annotations, firing.values, links)

    def _deliver(self, report: Tick) -> None:
        while self.outbox:
            payload = self.outbox[0]
            try:
                self.deliver(payload)
            except (DeliveryFailed, httpx.HTTPError, OSError) as exc:
                report.delivery_error = str(exc) or type(exc).__name__
                break
            self.outbox.pop(0)
            self._save()
            report.delivered.append(payload)
        report.undelivered = len(self.outbox)
