"""``richness alerts configure``: Grafana's alerting folder and Alertmanager's configuration for
the receivers that RICHNESS_ALERT_* give (docker-compose.yml runs it before Grafana and
Alertmanager start; see shared/alerting/receivers.py for why they are written, not mounted)."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from services.alerts import alertmanager, provisioned
from shared.alerting.receivers import AlertSettings, ConfigError, grafana_contact_points

CONTACT_POINTS_FILE = "contact-points.yaml"
PROVISIONING_SUFFIXES = (".yaml", ".yml", ".json")


def write_grafana_alerting(source: Path, out: Path, settings: AlertSettings) -> list[Path]:
    """``out``: the provisioning files of ``source`` as they are, but the contact points, which
    get Slack and e-mail when set. Files ``out`` held before are removed (a rule deleted from
    ``source`` must disappear from Grafana too)."""
    name, base = provisioned.one_with("contactPoints", source)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.suffix in PROVISIONING_SUFFIXES:
            old.unlink()
    written = []
    for path in sorted(source.iterdir()):
        if path.suffix in PROVISIONING_SUFFIXES and path.name != name:
            written.append(Path(shutil.copyfile(path, out / path.name)))
    target = out / CONTACT_POINTS_FILE
    header = ("# Written by `richness alerts configure` from grafana/provisioning/alerting/contact-points.yaml\n"
              f"# and RICHNESS_ALERT_*: {', '.join(settings.channels)}.\n")
    target.write_text(header + yaml.safe_dump(grafana_contact_points(base, settings), sort_keys=False))
    return written + [target]


def configure(settings: AlertSettings, source: Path, grafana_out: Path | None,
              alertmanager_out: Path | None) -> list[Path]:
    if settings.webhook_url is None:
        raise ConfigError("set RICHNESS_ALERT_WEBHOOK_URL: every notification goes to a webhook")
    written = []
    if grafana_out is not None:
        written += write_grafana_alerting(source, grafana_out, settings)
    if alertmanager_out is not None:
        # Readable by Alertmanager's own user (compose runs it as nobody); the volume is theirs alone.
        written.append(alertmanager.write_config(alertmanager_out, settings, alerting=source, mode=0o644))
    return written
