"""The real pipeline for end-to-end tests: ingest API, processor and sink as separate processes
(started exactly like ``richness up`` starts them) on the session's broker and ClickHouse, with
topics, consumer groups and a database of their own."""
from __future__ import annotations

import asyncio
import math
import os
import signal
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Iterable

import httpx
import msgspec

from services.processor.watchdog import STALLED_EXIT_CODE
from services.stack import components
from services.stack.drain import drain
from services.stack.processes import Running, Spec, exit_status, free_port, spawn, stop, wait_healthy
from shared.clickhouse.client import connect
from shared.clickhouse.schema import apply as apply_schema
from shared.config import Settings
from shared.events import Event
from tests.conftest import settings_for
from tests.logs import log_tails

# Money (Decimal) as JSON numbers, digit for digit, as clients send it.
encode_events = msgspec.json.Encoder(decimal_format="number").encode

VIEW_KEYS = {
    "events": ("id",),
    "account_daily": ("account", "day"),
    "threads": ("root_id",),
    "followers": ("account", "follower"),
}


class Pipeline:
    def __init__(self, broker, clickhouse, log_dir: Path, **overrides):
        """``clickhouse``: a server or a cluster of them (tests.conftest)."""
        suffix = uuid.uuid4().hex[:8]
        self.api_key = "test-key-" + suffix
        # A private database unless told otherwise (dashboards query `richness` as in production).
        values = {"clickhouse_database": f"e2e_{suffix}", "group_prefix": f"e2e-{suffix}",
                  "api_keys": self.api_key, "state_dir": log_dir.parent / f"state-{suffix}", **overrides}
        self.settings: Settings = settings_for(broker, clickhouse, **values)
        self.log_dir = log_dir
        self.ingest_port = free_port()
        env = self.settings.to_env()
        self.specs: dict[str, Spec] = {
            "ingest": components.ingest(env, self.ingest_port),
            "processor": self.processor_spec("processor"),
            "accounts": self.processor_spec("accounts", "accounts"),
            "sink": components.worker("sink", "services.sink", env, free_port()),
        }
        self.running: dict[str, Running] = {}
        self.client = connect(self.settings)

    def processor_spec(self, name: str, stage: str = "events") -> Spec:
        """A worker of a processor stage with a state directory of its own."""
        return components.processor(stage, self.settings.to_env(), free_port(), self.settings.state_dir / name, name)

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    def start(self, *names: str) -> None:
        apply_schema(self.settings)
        for name in names or tuple(self.specs):
            self.running[name] = spawn(self.specs[name], self.log_dir)
            wait_healthy(self.specs[name], self.running[name])

    def kill(self, name: str, hard: bool = True) -> None:
        process = self.running.pop(name)
        if hard:
            os.killpg(process.pid, signal.SIGKILL)
        stop(process)

    def stop_all(self) -> None:
        for name in list(self.running):
            stop(self.running.pop(name))

    def post(self, events: list[dict], batch: int = 500) -> int:
        accepted = 0
        with httpx.Client(timeout=60) as http:
            for start in range(0, len(events), batch):
                body = encode_events(events[start:start + batch])
                response = http.post(f"{self.ingest_url}/v1/events", content=body,
                                     headers={"Authorization": f"Bearer {self.api_key}",
                                              "Content-Type": "application/json"})
                assert response.status_code == 202, response.text
                body = response.json()
                assert body["rejected"] == 0, body["errors"][:3]
                accepted += body["accepted"]
        return accepted

    def drain(self, timeout_s: float = 120) -> None:
        assert asyncio.run(drain(self.settings, timeout_s, problem=self.restart_stalled)), \
            f"pipeline not drained in {timeout_s} s\n{log_tails(self.log_dir)}"

    def restart_stalled(self) -> None:
        """Start again a worker that exited because its group stalled (code 75), as compose's
        restart policy and the local stack's supervisor do; any other exit is left to the test."""
        for name, process in list(self.running.items()):
            status = exit_status(process.pid)
            if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == STALLED_EXIT_CODE:
                self.running[name] = spawn(self.specs[name], self.log_dir)

    def metric(self, service: str, name: str, **labels: str) -> float:
        """One sample from a service's Prometheus endpoint (0 if absent)."""
        from prometheus_client.parser import text_string_to_metric_families

        port = self.ingest_port if service == "ingest" else self.specs[service].env["RICHNESS_METRICS_PORT"]
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return sample.value
        return 0.0

    def views(self) -> dict[str, list[dict]]:
        db = self.settings.clickhouse_database
        result = {}
        for view, key in VIEW_KEYS.items():
            # readonly=1 as the dashboards' user has it: a view must not rely on query settings.
            rows = self.client.query(f"SELECT * FROM {db}.{view}", settings={"readonly": 1}).named_results()
            result[view] = sorted((normalise(row) for row in rows), key=lambda r: tuple(r[k] for k in key))
        return result


def normalise(row: dict) -> dict:
    """ClickHouse values in the reference's representation (ms ints, dates, floats, None)."""
    out = {}
    for name, value in row.items():
        if isinstance(value, datetime):
            value = int(round(value.timestamp() * 1000))
        elif isinstance(value, bool):
            value = bool(value)
        out[name] = value
    return out


def reference_rows(events: Iterable[Event]) -> dict[str, list[dict]]:
    from tests.reference import compute_views

    views = compute_views(events)
    return {view: sorted(rows, key=lambda r: tuple(r[k] for k in key)) for view, key in VIEW_KEYS.items()
            for rows in [views[view]]}


def assert_views_equal(actual: dict[str, list[dict]], expected: dict[str, list[dict]]) -> None:
    for view, key in VIEW_KEYS.items():
        got, want = actual[view], expected[view]
        got_keys = [tuple(r[k] for k in key) for r in got]
        want_keys = [tuple(r[k] for k in key) for r in want]
        missing = sorted(set(want_keys) - set(got_keys))[:5]
        extra = sorted(set(got_keys) - set(want_keys))[:5]
        assert not missing and not extra and len(got) == len(want), \
            f"{view}: {len(got)} rows vs {len(want)} expected; missing {missing}, unexpected {extra}"
        for g, w in zip(got, want):
            for column, expected_value in w.items():
                if column == "received_at":  # the server's clock: checked by the ingest tests
                    continue
                actual_value = g[column]
                same = (math.isclose(actual_value, expected_value, rel_tol=1e-9)
                        if isinstance(expected_value, float) and isinstance(actual_value, float)
                        else actual_value == expected_value)
                assert same, f"{view} {tuple(w[k] for k in key)}: {column} = {actual_value!r}, expected {expected_value!r}"


def post_in_background(pipeline: Pipeline, delivery: list[dict], pause_s: float = 0.05,
                       held: threading.Event | None = None, timeout_s: float = 120) -> threading.Thread:
    """Post the delivery in small requests spread over time, so crashes land mid-stream.

    With `held`, only the first quarter goes out until the test sets it: "more is still coming"
    is then the test's decision, not a race against how fast this machine runs the pipeline."""
    def run():
        for start in range(0, len(delivery), 40):
            if held is not None and start >= len(delivery) // 4 and not held.wait(timeout_s):
                raise TimeoutError(f"the test never released the rest of the delivery in {timeout_s:.0f} s")
            pipeline.post(delivery[start:start + 40])
            time.sleep(pause_s)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
