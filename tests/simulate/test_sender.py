"""Sending simulated events: JSON-array batches, retries until acknowledged, the rate cap."""
from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest

from services.simulate.sender import EventSender, SendFailed, post_events

EVENTS = [{"id": f"e{i}", "type": "click", "ts": 1_763_632_800_000, "target": "ameena"} for i in range(25)]


def api(answers: list[int], seen: list[list[dict]]) -> httpx.MockTransport:
    """An ingest API answering with the given statuses in turn, then 202 (the last event rejected)."""
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer key"
        batch = json.loads(request.content)
        seen.append(batch)
        status = answers.pop(0) if answers else 202
        if status != 202:
            return httpx.Response(status, json={"error": "busy"})
        errors = [{"index": len(batch) - 1, "id": batch[-1]["id"], "error": "nope"}]
        return httpx.Response(202, json={"accepted": len(batch) - 1, "rejected": 1, "errors": errors})
    return httpx.MockTransport(handle)


def test_batches_are_retried_until_acknowledged_and_summed():
    seen: list[list[dict]] = []
    with EventSender("http://ingest", "key", max_backoff_s=0, transport=api([503, 500], seen)) as client:
        summary = post_events(EVENTS, client, batch_size=10)
    assert [len(batch) for batch in seen] == [10, 10, 10, 10, 5]  # the first batch three times
    assert (summary.sent, summary.accepted, summary.rejected) == (25, 22, 3)
    assert summary.by_type == {"click": 25} and [e.id for e in summary.errors] == ["e9", "e19", "e24"]


def test_refused_key_and_lasting_outage_stop_the_simulation():
    with EventSender("http://ingest", "key", transport=api([401], [])) as client:
        with pytest.raises(SendFailed, match="API key"):
            post_events(EVENTS, client)
    with EventSender("http://ingest", "key", max_attempts=3, max_backoff_s=0,
                      transport=api([503] * 3, [])) as client:
        with pytest.raises(SendFailed, match="after 3 attempts"):
            post_events(EVENTS, client)


def test_rate_caps_events_per_second():
    seen: list[list[dict]] = []
    started = time.monotonic()
    with EventSender("http://ingest", "key", transport=api([], seen)) as client:
        summary = post_events(EVENTS, client, batch_size=1000, rate=50)
    assert time.monotonic() - started >= 0.45 and max(len(batch) for batch in seen) <= 50
    assert summary.sent == 25



def test_money_is_sent_as_json_numbers_digit_for_digit():
    bodies: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(202, json={"accepted": 1, "rejected": 0, "errors": []})

    order = {"id": "o", "type": "conversion", "ts": 1_763_632_800_000, "target": "ameena", "order_id": "A",
             "value": Decimal("12345678901234.56")}  # more digits than a float holds
    with EventSender("http://ingest", "key", transport=httpx.MockTransport(handle)) as client:
        client.post([order])
    assert b'"value":12345678901234.56}' in bodies[0]
