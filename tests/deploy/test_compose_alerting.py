"""docker-compose.yml's alerting: Prometheus → Alertmanager, Grafana's alerting folder and
Alertmanager's configuration written by `richness alerts configure` from RICHNESS_ALERT_*, the
alert-log service as the default webhook. The configure step is run here exactly as compose runs
it (its command, its environment with compose's defaults), and amtool checks what it wrote."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from shared.alerting.receivers import AlertSettings
from tests.alerts.amtool import amtool

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def compose_default(value: str) -> str:
    """What compose makes of ${VAR:-default} with VAR unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_prometheus_sends_its_alerts_to_alertmanager():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [target] = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert target == "alertmanager:9093"
    assert "--cluster.listen-address=" in SERVICES["alertmanager"]["command"]  # no gossip port
    assert SERVICES["alertmanager"]["ports"] == ["127.0.0.1:9093:9093"]


def test_grafana_and_alertmanager_load_what_alerting_config_writes():
    writer = SERVICES["alerting-config"]
    command = writer["command"]
    out = {command[i]: command[i + 1] for i in range(len(command) - 1) if command[i].startswith("--")}
    volumes = {path: name for name, path in (v.split(":") for v in writer["volumes"] if not v.endswith(":ro"))}
    assert "./grafana/provisioning/alerting:/alerting:ro" in writer["volumes"] and out["--source"] == "/alerting"
    grafana_volume, alertmanager_volume = volumes[out["--grafana-out"]], volumes[out["--alertmanager-out"]]
    assert f"{grafana_volume}:/etc/grafana/provisioning/alerting:ro" in SERVICES["grafana"]["volumes"]
    assert f"{alertmanager_volume}:/etc/alertmanager:ro" in SERVICES["alertmanager"]["volumes"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in SERVICES["alertmanager"]["command"]
    for name in ("grafana", "alertmanager"):
        assert SERVICES[name]["depends_on"]["alerting-config"] == {"condition": "service_completed_successfully"}


def test_grafana_has_the_variables_its_contact_point_refers_to():
    env = SERVICES["grafana"]["environment"]
    for name in ("RICHNESS_ALERT_WEBHOOK_URL", "RICHNESS_ALERT_SLACK_WEBHOOK_URL", "RICHNESS_ALERT_EMAIL_TO"):
        assert name in env, name
    assert compose_default(env["GF_SERVER_ROOT_URL"]) == compose_default(env["RICHNESS_ALERT_GRAFANA_URL"])
    assert set(SERVICES["alerting-config"]["environment"]) == {
        f"RICHNESS_ALERT_{n.upper()}" for n in AlertSettings.model_fields if n != "smtp_require_tls"}


def test_the_default_webhook_is_the_alert_log_service():
    url = compose_default(SERVICES["alerting-config"]["environment"]["RICHNESS_ALERT_WEBHOOK_URL"])
    command = SERVICES["alert-log"]["command"]
    assert url == f"http://alert-log:{command[command.index('--port') + 1]}/"
    assert command[:3] == ["richness", "alerts", "receive"] and "ports" not in SERVICES["alert-log"]


def test_the_configure_step_as_compose_runs_it_writes_valid_configurations(tmp_path):
    writer = SERVICES["alerting-config"]
    mounts = {"/alerting": ROOT / "grafana/provisioning/alerting", "/out": tmp_path}
    argv = [str(mounts["/out"] / a.removeprefix("/out/")) if a.startswith("/out/")
            else str(mounts[a]) if a in mounts else a for a in writer["command"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RICHNESS_ALERT_")}
    env.update({k: compose_default(v) for k, v in writer["environment"].items()})
    argv[0] = str(Path(sys.executable).with_name("richness"))
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "receivers: webhook" in result.stdout
    check = amtool("check-config", str(tmp_path / "alertmanager" / "alertmanager.yml"))
    assert check.returncode == 0, check.stdout + check.stderr
    [receiver] = yaml.safe_load((tmp_path / "alertmanager" / "alertmanager.yml").read_text())["receivers"]
    assert receiver["webhook_configs"][0]["url"] == "http://alert-log:9095/"
    assert sorted(p.name for p in (tmp_path / "grafana").iterdir()) == sorted(
        p.name for p in (ROOT / "grafana/provisioning/alerting").iterdir())
