"""Alertmanager, for the Prometheus pipeline rules (deploy/prometheus/rules.yml): its configuration
written from the project's policy tree, receivers and message template, and the local stack's
component (Debian's ``prometheus-alertmanager`` on 127.0.0.1).

The local stack (services/stack/supervisor.py) runs it next to Prometheus when both are
installed, with the receivers of RICHNESS_ALERT_* (without a webhook URL it keeps the alerts,
visible at its URL and with ``amtool alert query --alertmanager.url=…``, and notifies no one).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from services.alerts import provisioned
from services.stack import probe
from services.stack.processes import Spec, StackError
from shared.alerting.receivers import TEMPLATE_FILE, AlertSettings, alertmanager_config

BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, upstream's


def installed() -> str | None:
    for name in BINARIES:
        if path := shutil.which(name):
            return path
    return None


def binary() -> str:
    if path := installed():
        return path
    raise StackError("Alertmanager is not installed: `make deps` installs Debian's prometheus-alertmanager")


def write_config(folder: Path, settings: AlertSettings, webhook_url: str | None = None,
                 alerting: Path | None = None, mode: int = 0o600) -> Path:
    """``alertmanager.yml`` and its ``richness.tmpl`` in ``folder``, from the Grafana alerting
    folder ``alerting`` (default: the project's); the configuration's path. Validate it with
    ``amtool check-config``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = alertmanager_config(provisioned.policy(alerting), settings, webhook_url)
    (folder / TEMPLATE_FILE).write_text(provisioned.templates(alerting))
    path = folder / "alertmanager.yml"
    header = ("# Written by `richness alerts configure` from grafana/provisioning/alerting (policy tree,\n"
              "# message template) and RICHNESS_ALERT_* (receivers). Edit those, not this file.\n")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    tmp.chmod(mode)  # private by default: it may hold the Slack URL and the SMTP password
    tmp.replace(path)
    return path


def component(home: Path, port: int, webhook_url: str | None, settings: AlertSettings | None = None) -> Spec:
    """The local stack's Alertmanager: 127.0.0.1 only (web API and UI), no cluster listener,
    configuration and data (silences, notification log) under ``home``."""
    try:
        config = write_config(home, settings or AlertSettings(), webhook_url)
    except ValueError as exc:  # RICHNESS_ALERT_* that make no configuration (pydantic's errors included)
        raise StackError(f"alertmanager: {exc}") from exc
    url = f"http://127.0.0.1:{port}"
    return Spec(
        name="alertmanager",
        argv=[binary(), f"--config.file={config}", f"--storage.path={home / 'data'}",
              f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url={url}",
              "--cluster.listen-address="],  # empty: no gossip listener (it would bind every interface)
        healthy=lambda: probe.get(f"{url}/-/ready", 3).status_code == 200,
        start_timeout_s=30,
        stop_timeout_s=10,
    )


def prometheus_alerting(port: int) -> dict[str, Any]:
    """What Prometheus' configuration needs to send its alerts to that Alertmanager."""
    return {"alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]}}
