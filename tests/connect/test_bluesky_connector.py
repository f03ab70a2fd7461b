"""``richness connect bluesky`` against a local Jetstream replay and the real pipeline: a forced
disconnect mid-stream and a SIGKILL + restart of the connector, and still every event exactly
once in ``richness.events`` — no gap (the cursor is saved only after the ingest API acknowledged),
no double (deterministic ids). Unfollows whose follow came before the restart still resolve."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.importers.formats import bluesky
from services.stack.processes import free_port
from tests.connect.jetstream_replay import JetstreamReplay
from tests.importers.helpers import FIXTURES
from tests.pipeline.harness import Pipeline

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]

ROOT_DIR = Path(__file__).resolve().parents[2]


def recorded_lines() -> list[str]:
    """The fixture stream, then a longer stretch written in the same documented format: threads,
    follows, unfollows of follows made long before, likes and reposts, one a second."""
    lines = (FIXTURES / "bluesky/jetstream.ndjson").read_text().splitlines()
    time_us = 1795170000000000
    roots: list[str] = []

    def commit(did: str, operation: str, collection: str, rkey: str, record: dict | None = None) -> None:
        nonlocal time_us
        time_us += 1_000_000
        body = {"rev": f"rev{time_us}", "operation": operation, "collection": collection, "rkey": rkey}
        if record is not None:
            body["record"] = {"$type": collection, "createdAt": _iso(time_us - 400_000), **record}
            body["cid"] = f"bafy{time_us}"
        lines.append(json.dumps({"did": did, "time_us": time_us, "kind": "commit", "commit": body}))

    for i in range(360):
        did = f"did:plc:user{i % 17:02d}"
        step = i % 6
        if step == 0 or not roots:
            commit(did, "create", bluesky.POST, f"p{i:05d}", {"text": "a post"})
            roots.append(bluesky.at_uri(did, bluesky.POST, f"p{i:05d}"))
        elif step in (1, 2):
            root = roots[-1 - (i % 3) % len(roots)]
            commit(did, "create", bluesky.POST, f"r{i:05d}", {"text": "a reply", "reply": {
                "root": {"uri": root, "cid": "x"}, "parent": {"uri": root, "cid": "x"}}})
        elif step == 3:
            commit(did, "create", bluesky.FOLLOW, f"f{i:05d}", {"subject": f"did:plc:user{(i + 5) % 17:02d}"})
        elif step == 4 and i > 200:  # undo a follow made in the first half: resolved across the restart
            follower = f"did:plc:user{(i - 199) % 17:02d}"
            commit(follower, "delete", bluesky.FOLLOW, f"f{i - 199:05d}")
        else:
            commit(did, "create", bluesky.LIKE if i % 2 else bluesky.REPOST,
                   f"l{i:05d}", {"subject": {"uri": roots[-1], "cid": "x"}})
    return lines


def _iso(time_us: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time_us // 1_000_000)) + f".{time_us % 1_000_000:06d}Z"


def expected_events(lines: list[str]) -> list[dict]:
    follows: dict = {}

    class Memory:
        remember = staticmethod(lambda did, rkey, subject: follows.__setitem__((did, rkey), subject))
        recall = staticmethod(lambda did, rkey: follows.get((did, rkey)))

    return [e for line in lines for e in bluesky.map_message(bluesky.decode(line), Memory).events]


class Connector:
    def __init__(self, pipeline: Pipeline, url: str, state: Path, log: Path) -> None:
        self.metrics_port = free_port()
        self.command = [sys.executable, "-m", "services.cli.main", "connect", "bluesky", "--jetstream", url,
                        "--ingest-url", pipeline.ingest_url, "--api-key", pipeline.api_key, "--state", str(state),
                        "--metrics-port", str(self.metrics_port), "--batch-size", "25", "--flush-interval", "0.2",
                        "--rewind", "0"]  # no replay margin: a cursor saved too early would show as a gap
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, cwd=ROOT_DIR, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def metric(self, name: str, **labels: str) -> float | None:
        try:
            text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return None
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return sample.value
        return None

    def wait_for_cursor(self, time_us: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while (self.metric("richness_connector_cursor_time_seconds") or 0) < time_us / 1e6:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"cursor never reached {time_us}: {self.log.read_text()[-3000:]}"
            time.sleep(0.05)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def ensure_gone(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def pipeline(broker, clickhouse, tmp_path):
    pipe = Pipeline(broker, clickhouse, tmp_path / "logs")
    try:
        pipe.start()
        yield pipe
    finally:
        pipe.stop_all()  # also what started before a component failed to come up


def test_disconnect_and_restart_deliver_every_event_exactly_once(pipeline, tmp_path):
    lines = recorded_lines()
    times = [json.loads(line)["time_us"] for line in lines]
    # Connection 1 drops after 150 lines; connection 2 (the reconnect) stops sending at line 300
    # and the connector is killed once it acknowledged up to line 200, with more in flight.
    with JetstreamReplay(lines, stops=[150, 300]) as server:
        connector = Connector(pipeline, server.url, tmp_path / "state.sqlite", tmp_path / "connector.log")
        try:
            connector.start()
            connector.wait_for_cursor(times[200])
            assert connector.metric("richness_connector_reconnects_total") >= 1  # the forced disconnect
            assert connector.metric("richness_connector_messages_total", kind="commit") > 0
            assert connector.metric("richness_connector_lag_seconds") > 0
            connector.kill()

            restarted = Connector(pipeline, server.url, tmp_path / "state.sqlite", tmp_path / "connector.log")
            connector = restarted
            connector.start()
            connector.wait_for_cursor(times[-1])
            accepted = connector.metric("richness_connector_events_total", outcome="accepted")
            assert connector.stop() == 0  # SIGTERM: flush, save, exit cleanly
        finally:
            connector.ensure_gone()

    first, reconnect, restart = server.connections[:3]
    assert first.cursor is None and sorted(first.collections) == sorted(bluesky.COLLECTIONS)
    assert reconnect.cursor is not None and reconnect.cursor <= times[150]  # resumed where it was, no gap
    assert restart.cursor is not None and times[200] <= restart.cursor <= times[300]  # from the saved cursor

    pipeline.drain()
    expected = expected_events(lines)
    db = pipeline.settings.clickhouse_database
    rows = pipeline.client.query(f"SELECT id, type, actor, target FROM {db}.events").result_rows
    assert sorted(row[0] for row in rows) == sorted(e["id"] for e in expected)
    assert len(rows) == len({e["id"] for e in expected})
    by_type = {kind: sum(1 for row in rows if row[1] == kind) for kind in ("unfollow", "share", "like")}
    assert by_type == {kind: sum(1 for e in expected if e["type"] == kind) for kind in by_type}
    assert min(by_type.values()) > 10
    assert accepted > 0  # the restarted connector's own count (its counters start at 0)
