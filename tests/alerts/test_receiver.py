"""The webhook receiver keeps JSON notifications and refuses anything else."""
from __future__ import annotations

import httpx

from services.alerts.receiver import MAX_BODY_BYTES, WebhookReceiver, describe


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
