"""The stack's supervisor: a component that exits is restarted and `status` says why; one that
keeps dying is reported and makes `drain` fail at once with the reason; `down` stops everything
even after the supervisor itself was killed."""
from __future__ import annotations

import json
import os
import signal

import httpx
import pytest

from tests.stack.helpers import component, richness, stack_processes, wait_for

pytestmark = pytest.mark.stack


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "stack"
    yield path
    richness("down", "--data-dir", str(path), "--force", check=False)


def post_one(data_dir, event_id: str) -> None:
    info = json.loads((data_dir / "stack.json").read_text())
    response = httpx.post(f"{info['ingest_url']}/v1/events", headers={"Authorization": f"Bearer {info['api_key']}"},
                          json={"id": event_id, "type": "post", "ts": "2026-11-20T09:00:00Z", "actor": "a",
                                "post_id": event_id}, timeout=30)
    assert response.status_code == 202, response.text


def kill_and_wait_for_restart(data_dir, name: str) -> dict:
    before = component(data_dir, name)
    os.kill(before["pid"], signal.SIGKILL)
    wait_for(lambda: (row := component(data_dir, name))["restarts"] == before["restarts"] + 1 and row["alive"],
             what=f"{name} restarted")
    return component(data_dir, name)


def test_a_killed_component_is_restarted_and_status_says_why(data_dir):
    richness("up", "--data-dir", str(data_dir))
    killed_pid = component(data_dir, "processor")["pid"]
    row = kill_and_wait_for_restart(data_dir, "processor")
    assert row["pid"] != killed_pid and row["last_exit"] == "killed by SIGKILL" and not row["failing"]
    wait_for(lambda: component(data_dir, "processor")["state"] == "running", what="processor healthy")

    table = richness("status", "--data-dir", str(data_dir)).stdout
    assert "killed by SIGKILL" in table
    log = (data_dir / "logs" / "supervisor.log").read_text()
    assert "processor killed by SIGKILL" in log and "restarting processor (restart 1)" in log

    post_one(data_dir, "after-restart")
    richness("drain", "--data-dir", str(data_dir), "--timeout", "120")


def test_a_component_that_keeps_dying_is_reported_and_drain_fails_fast(data_dir):
    richness("up", "--data-dir", str(data_dir))
    for _ in range(3):  # three exits in a row, none of them after staying up
        row = kill_and_wait_for_restart(data_dir, "sink")
    assert row["failing"] and row["restarts"] == 3

    status = richness("status", "--data-dir", str(data_dir), check=False)
    assert status.returncode == 1 and "failing" in status.stdout and "sink keeps exiting" in status.stderr

    post_one(data_dir, "pending")
    drained = richness("drain", "--data-dir", str(data_dir), "--timeout", "600", check=False)
    assert drained.returncode == 1
    assert "cannot drain: sink keeps exiting (3 restarts; last: killed by SIGKILL" in drained.stderr


def test_down_stops_everything_after_the_supervisor_was_killed(data_dir):
    richness("up", "--data-dir", str(data_dir))
    os.kill(component(data_dir, "supervisor")["pid"], signal.SIGKILL)
    wait_for(lambda: not component(data_dir, "supervisor")["alive"], what="supervisor gone")
    os.kill(component(data_dir, "processor")["pid"], signal.SIGKILL)  # nothing restarts it now

    status = richness("status", "--data-dir", str(data_dir), check=False)
    assert status.returncode == 1
    drained = richness("drain", "--data-dir", str(data_dir), "--timeout", "600", check=False)
    assert drained.returncode == 1 and "processor is down and nothing restarts it" in drained.stderr

    assert stack_processes(data_dir)  # orphans of the killed supervisor
    stopped = richness("down", "--data-dir", str(data_dir)).stdout
    assert "clickhouse" in stopped and "broker" in stopped
    assert stack_processes(data_dir) == []
    assert richness("status", "--data-dir", str(data_dir), check=False).returncode == 1
