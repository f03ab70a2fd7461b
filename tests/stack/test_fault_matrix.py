"""Every event that got a 202 survives a kill -9 of any part of the local stack, or of all of it.

For each victim, a stream of mixed events (follows and unfollows, posts, replies out of order,
clicks, duplicates) is sent through the ingest API in small requests; mid-stream the victim is
killed with SIGKILL. A single component is brought back by the supervisor; the whole stack
(supervisor included) by `richness down` and `richness up`. The sender retries every request
until it gets a 202, as a client of the API should. At the end every accepted event is in
`richness.events` exactly once and every view equals the reference implementation's.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import clickhouse_connect
import httpx
import pytest

from shared.events import parse_event
from tests.pipeline.generator import event_set
from tests.pipeline.harness import assert_views_equal, encode_events, reference_rows
from tests.stack.helpers import component, richness, stack_processes, views, wait_for

pytestmark = pytest.mark.stack

REQUEST_EVENTS = 25
COMPONENTS = ["log-store", "broker", "clickhouse", "ingest", "processor", "accounts", "sink"]


class Sender(threading.Thread):
    """Posts the delivery request by request, each retried until it is accepted (202)."""

    def __init__(self, info: dict, delivery: list[dict], pause_s: float = 0.1):
        super().__init__(daemon=True)
        self.url = f"{info['ingest_url']}/v1/events"
        self.headers = {"Authorization": f"Bearer {info['api_key']}", "Content-Type": "application/json"}
        self.requests = [delivery[i:i + REQUEST_EVENTS] for i in range(0, len(delivery), REQUEST_EVENTS)]
        self.pause_s = pause_s
        self.sent = 0  # requests accepted so far
        self.refused = 0  # answers other than 202, and failed connections
        self.error: str | None = None

    def run(self) -> None:
        try:
            self._send_all()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = f"{type(exc).__name__}: {exc}"

    def _send_all(self) -> None:
        with httpx.Client(timeout=30) as http:
            for events in self.requests:
                deadline = time.monotonic() + 240
                body = encode_events(events)
                while True:
                    try:
                        response = http.post(self.url, content=body, headers=self.headers)
                        if response.status_code == 202:
                            answer = response.json()
                            if answer["accepted"] != len(events):
                                self.error = f"not all accepted: {answer}"
                                return
                            break
                    except httpx.HTTPError:
                        pass
                    self.refused += 1
                    if time.monotonic() > deadline:
                        self.error = "a request was not accepted within 240 s"
                        return
                    time.sleep(0.25)
                self.sent += 1
                time.sleep(self.pause_s)


def kill(pid: int) -> None:
    for kill_call in (os.killpg, os.kill):
        try:
            kill_call(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("victim", COMPONENTS + ["everything"])
def test_kill_9_mid_stream_loses_and_doubles_nothing(tmp_path, victim):
    data_dir = tmp_path / "stack"
    delivery = event_set(seed=100 + (COMPONENTS + ["everything"]).index(victim), n_edges=100, n_replies=200,
                         n_clicks=150)
    try:
        richness("up", "--data-dir", str(data_dir))
        info = json.loads((data_dir / "stack.json").read_text())
        sender = Sender(info, delivery)
        sender.start()
        wait_for(lambda: sender.sent >= len(sender.requests) // 3 or not sender.is_alive(), what="a third sent")
        assert sender.is_alive(), sender.error or "the stream ended before the kill"

        if victim == "everything":
            rows = json.loads(richness("status", "--data-dir", str(data_dir), "--json").stdout)
            for row in rows:  # the supervisor first, so nothing is restarted
                kill(row["pid"])
            richness("down", "--data-dir", str(data_dir))
            assert stack_processes(data_dir) == []
            richness("up", "--data-dir", str(data_dir))  # same ports: the sender's URL still works
        else:
            before = component(data_dir, victim)
            kill(before["pid"])
            wait_for(lambda: (row := component(data_dir, victim))["restarts"] > before["restarts"] and row["alive"],
                     what=f"{victim} restarted by the supervisor")

        sender.join(timeout=600)
        assert not sender.is_alive() and sender.error is None, sender.error
        richness("drain", "--data-dir", str(data_dir), "--timeout", "170")

        info = json.loads((data_dir / "stack.json").read_text())
        expected = reference_rows(parse_event(encode_events(e)) for e in delivery)
        client = clickhouse_connect.get_client(dsn=info["clickhouse_url"], username=info["clickhouse_reader_user"],
                                               password=info["clickhouse_reader_password"])
        rows, distinct = client.query("SELECT count(), uniqExact(id) FROM richness.events").result_rows[0]
        assert rows == distinct == len(expected["events"])  # every accepted event, once
        assert_views_equal(views(info), expected)
    finally:
        richness("down", "--data-dir", str(data_dir), check=False)
