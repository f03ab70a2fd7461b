"""The local stack's Alertmanager (services/alerts/alertmanager.py), run for real (Debian's
prometheus-alertmanager): only on 127.0.0.1, and a pipeline alert sent to it as Prometheus sends
one reaches the webhook, grouped by service, and reads as the project's message."""
from __future__ import annotations

import subprocess
from datetime import datetime, timezone

import httpx
import pytest

from services.alerts import alertmanager, provisioned
from services.stack import prometheus
from services.alerts.receiver import WebhookReceiver, describe
from services.stack.processes import free_port, spawn, stop, wait_healthy


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def local_alertmanager(tmp_path, receiver):
    port = free_port()
    spec = alertmanager.component(tmp_path / "alertmanager", port, receiver.url)
    running = spawn(spec, tmp_path / "logs")
    try:
        wait_healthy(spec, running)
        yield f"http://127.0.0.1:{port}", running.pid
    finally:
        stop(running)


def listening(pid: int) -> list[str]:
    lines = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout.splitlines()
    return [line.split()[3] for line in lines if f"pid={pid}," in line]


def test_it_listens_on_loopback_only_and_keeps_its_data_under_its_home(local_alertmanager, tmp_path):
    _, pid = local_alertmanager
    addresses = listening(pid)
    assert addresses and all(a.startswith("127.0.0.1:") for a in addresses), addresses
    assert (tmp_path / "alertmanager" / "data").is_dir()
    assert (tmp_path / "alertmanager" / "richness.tmpl").read_text() == provisioned.templates()


def test_a_pipeline_alert_reaches_the_webhook_grouped_by_service(local_alertmanager, receiver):
    url, _ = local_alertmanager
    alert = {"labels": {"alertname": "RichnessServiceDown", "category": "pipeline", "service": "sink",
                        "job": "sink", "instance": "127.0.0.1:9102", "severity": "critical"},
             "annotations": {"summary": "sink at 127.0.0.1:9102 does not answer /metrics"},
             "startsAt": datetime.now(timezone.utc).isoformat(), "generatorURL": "http://127.0.0.1:9090/graph"}
    response = httpx.post(f"{url}/api/v2/alerts", json=[alert], timeout=10)  # what Prometheus does
    assert response.status_code == 200, response.text
    [received] = receiver.wait_for(1, timeout_s=120)  # after the route's group_wait (30 s)
    payload = received.payload
    assert (payload["receiver"], payload["status"], payload["groupLabels"]) == ("richness", "firing", {"service": "sink"})
    title, message = describe(payload, provisioned.templates())
    assert title == "[FIRING:1] Richness service=sink"
    assert message.startswith("FIRING: RichnessServiceDown\nsink at 127.0.0.1:9102 does not answer /metrics\n"
                              "Service: sink\n")


def test_prometheus_is_told_where_it_is():
    assert alertmanager.prometheus_alerting(9093) == {
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]}}
    assert prometheus.rules_file().is_file()
