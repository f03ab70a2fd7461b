"""The broker goes away: requests get 503 with nothing reported accepted, readiness fails, and
once the broker is back the same process accepts again (no restart of the ingest service).
The importer retries 503s, then stops with its checkpoint intact."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest

from services.importers.engine import ImportFailed, import_file
from services.stack import components
from services.stack.processes import Running, free_port, spawn, stop, wait_healthy
from shared.config import Settings
from shared.kafka.admin import ensure_topics
from tests.conftest import Broker, settings_for
from tests.ingest.helpers import API_KEY, NOW_MS, event, ingest_settings, running_ingest

pytestmark = pytest.mark.broker


class PrivateBroker:
    """A broker of the test's own, stopped and restarted at the same address."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.spec = components.broker(self.port)
        self.log_dir = log_dir
        self.running: Running | None = None

    def start(self) -> None:
        self.running = spawn(self.spec, self.log_dir)
        wait_healthy(self.spec, self.running)

    def stop(self) -> None:
        if self.running is not None:
            stop(self.running)
            self.running = None

    def crash(self) -> None:
        """SIGKILL: an outage as abrupt as they come (and no wait for a graceful exit)."""
        assert self.running is not None
        os.killpg(self.running.pid, signal.SIGKILL)
        self.stop()  # reaps it

    def restart_with_topics(self, settings: Settings) -> None:
        # Let the refused requests' batches expire in the producer first. Were the broker back
        # sooner, they would reach it before the topics exist again, and Tansu's memory store
        # then fails the next write at that offset once (UnknownError -> one more 503).
        time.sleep(1)
        self.start()
        asyncio.run(ensure_topics(settings))  # in-memory storage: the topics went with the broker


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    broker = PrivateBroker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def _settings(broker: PrivateBroker, produce_timeout_s: float = 2) -> Settings:
    assert broker.running is not None
    return ingest_settings(settings_for(Broker(f"127.0.0.1:{broker.port}", broker.running)),
                           produce_timeout_s=produce_timeout_s)


def test_503_while_the_broker_is_down_then_202_after_it_returns(private_broker):
    settings = _settings(private_broker)
    with running_ingest(settings) as ingest:
        assert ingest.post([event("post")]).status_code == 202

        private_broker.crash()
        response = ingest.post([event("post") for _ in range(100)])
        assert response.status_code == 503
        assert set(response.json()) == {"error"}  # no accepted count at all
        assert response.headers["Retry-After"] == "1"
        assert ingest.client.get("/readyz").status_code == 503
        assert ingest.client.get("/healthz").status_code == 200

        private_broker.restart_with_topics(settings)
        retried = [event("post") for _ in range(100)]
        response = ingest.post(retried)
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 100
        assert ingest.client.get("/readyz").status_code == 200
        # The 503'd request may also have landed after the restart (retries dedupe by id).
        assert {e["id"] for e in retried} <= {e.id for e in ingest.events()}
        assert 'richness_ingest_requests_total{status="503"} 1.0' in ingest.client.get("/metrics").text


def test_importer_gives_up_on_503_and_resumes_elsewhere_without_resending(private_broker, ingest, tmp_path):
    source = tmp_path / "events.ndjson"
    ids = [f"imp{i}" for i in range(30)]
    source.write_text("".join(f'{{"id":"{i}","type":"click","ts":{NOW_MS},"target":"t"}}\n' for i in ids))
    reports = 0

    def stop_broker_after_first_batch(done: int, total: int) -> None:
        nonlocal reports
        reports += 1
        if reports == 2:  # the initial report, then the first acknowledged batch
            private_broker.crash()

    with running_ingest(_settings(private_broker, produce_timeout_s=1)) as doomed:
        with pytest.raises(ImportFailed, match=r"lines 11-20: no acknowledgement from \S+ after 2 attempts \(HTTP 503\)"):
            import_file(source, doomed.url, API_KEY, batch_size=10, progress=stop_broker_after_first_batch,
                        max_attempts=2)
        assert 'richness_ingest_requests_total{status="503"} 2.0' in doomed.client.get("/metrics").text

    # Resumed against a healthy ingest service: only the lines not acknowledged yet are sent.
    summary = import_file(source, ingest.url, API_KEY, batch_size=10)
    assert (summary.resumed_from_line, summary.sent, summary.accepted) == (10, 30, 30)
    assert Counter(e.id for e in ingest.events()) == Counter(ids[10:])
