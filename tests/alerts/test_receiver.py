"""The webhook receiver keeps JSON notifications and refuses anything else."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from services.alerts.receiver import MAX_BODY_BYTES, WebhookReceiver, describe
from services.stack.processes import free_port
from tests.alerts.test_notification_template import pipeline


def test_it_keeps_notifications_in_order_and_refuses_bad_bodies():
    with WebhookReceiver() as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        assert httpx.post(receiver.url + "grafana", json={"status": "firing", "title": "t", "message": "m"}).status_code == 200
        assert httpx.post(receiver.url, content=b"not json").status_code == 400
        assert httpx.post(receiver.url, json=[1, 2]).status_code == 400
        assert httpx.post(receiver.url, content=b"x" * (MAX_BODY_BYTES + 1)).status_code == 413
        assert httpx.post(receiver.url + "again", json={"status": "resolved"}).status_code == 200
        assert [(r.path, r.payload["status"]) for r in receiver.received] == [("/grafana", "firing"),
                                                                               ("/again", "resolved")]


def test_a_body_without_title_or_message_is_described_from_its_alerts():
    title, message = describe({"status": "firing", "alerts": [{"annotations": {"summary": "sink down"}}]})
    assert (title, message) == ("[FIRING:1]", "sink down")


def test_richness_alerts_receive_shows_an_alertmanager_notification_as_people_read_it(tmp_path):
    port = free_port()
    log = tmp_path / "received.jsonl"
    command = [str(Path(sys.executable).with_name("richness")), "alerts", "receive", "--port", str(port),
               "--jsonl", str(log)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "160"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/alertmanager", json=pipeline("sink"), timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, "the receiver did not start"
                time.sleep(0.2)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert "[FIRING:1] Richness service=sink" in out and "FIRING: RichnessServiceDown" in out, out
    assert "Service: sink" in out and "POST /alertmanager" in out
    assert len(log.read_text().splitlines()) == 1
