"""The event-log benchmarks measure what they say (tiny sizes: figures, not speed, are checked)."""
from __future__ import annotations

import pytest

from services.bench import event_logs
from services.bench.run import Plan

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse, pytest.mark.stack]


def test_throughput_on_the_durable_log_is_measured():
    plan = Plan(events=10_000, processor_events=110_000, repeats=1)
    figures = event_logs.compare(plan, report=lambda line: None, kinds=["durable"])
    assert set(figures) == {"durable"}
    for name in ("ingest_events_per_s", "raw_produce_events_per_s", "processor_events_per_s",
                 "raw_consume_events_per_s"):
        assert figures["durable"][name] > 0, name


def test_restart_ready_times_up_and_drain_of_a_filled_stack(tmp_path):
    lines: list[str] = []
    figures = event_logs.restart_ready(3_000, report=lines.append, workdir=tmp_path)
    assert figures["restart_events"] == 3_000
    assert 0 < figures["restart_up_s"] <= figures["restart_ready_s"]
    assert any("3,000 events stored" in line for line in lines)
    assert not list(tmp_path.iterdir())  # its stack and data directory are gone
