"""`down` on a stack whose event log is in memory refuses, saying how many accepted events are
not in ClickHouse yet, unless told `--force`; once drained it stops without asking."""
from __future__ import annotations

import json
import os
import signal

import httpx
import pytest

from tests.stack.helpers import component, richness, stack_processes

pytestmark = pytest.mark.stack


def post(info: dict, events: list[dict]) -> None:
    response = httpx.post(f"{info['ingest_url']}/v1/events", headers={"Authorization": f"Bearer {info['api_key']}"},
                          json=events, timeout=30)
    assert response.status_code == 202 and response.json()["accepted"] == len(events), response.text


def posts(prefix: str, n: int) -> list[dict]:
    return [{"id": f"{prefix}{i}", "type": "post", "ts": "2026-11-20T09:00:00Z", "actor": f"a{i % 3}",
             "post_id": f"{prefix}{i}"} for i in range(n)]


def test_down_with_unsaved_events_in_memory_refuses_without_force(tmp_path):
    data_dir = tmp_path / "stack"
    sink = None
    try:
        richness("up", "--data-dir", str(data_dir), "--event-log", "memory")
        info = json.loads((data_dir / "stack.json").read_text())
        assert info["event_log"] == "memory"
        post(info, posts("stored-", 3))
        richness("drain", "--data-dir", str(data_dir), "--timeout", "120")

        sink = component(data_dir, "sink")["pid"]
        os.kill(sink, signal.SIGSTOP)  # alive (nothing to restart) but storing nothing
        post(info, posts("pending-", 7))
        refused = richness("down", "--data-dir", str(data_dir), check=False)
        assert refused.returncode == 1
        assert "7 accepted events are not in ClickHouse yet" in refused.stderr and "--force" in refused.stderr
        assert component(data_dir, "broker")["alive"]  # nothing was stopped

        os.kill(sink, signal.SIGCONT)
        sink = None
        richness("drain", "--data-dir", str(data_dir), "--timeout", "120")
        richness("down", "--data-dir", str(data_dir))  # nothing left to lose: no question asked
        assert stack_processes(data_dir) == []
    finally:
        if sink is not None:
            os.kill(sink, signal.SIGCONT)
        richness("down", "--data-dir", str(data_dir), "--force", check=False)


def test_down_force_discards_and_stops(tmp_path):
    data_dir = tmp_path / "stack"
    try:
        richness("up", "--data-dir", str(data_dir), "--event-log", "memory")
        info = json.loads((data_dir / "stack.json").read_text())
        sink = component(data_dir, "sink")["pid"]
        os.kill(sink, signal.SIGSTOP)
        post(info, posts("lost-", 4))
        assert "4 accepted events" in richness("down", "--data-dir", str(data_dir), check=False).stderr
        os.kill(sink, signal.SIGCONT)  # so it can stop on SIGTERM
        richness("down", "--data-dir", str(data_dir), "--force")
        assert stack_processes(data_dir) == []
    finally:
        richness("down", "--data-dir", str(data_dir), "--force", check=False)
