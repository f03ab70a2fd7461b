"""The benchmark machinery measures what it says (tiny sizes: figures, not speed, are checked)."""
from __future__ import annotations

import json

import pytest

from services.bench import stages
from services.bench.run import Bench, Plan
from services.bench.workload import realistic_events
from shared.events import parse_event

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


def test_workload_is_valid_and_deterministic():
    events = realistic_events(3000, seed=5, now=1_790_000_000_000)
    assert events == realistic_events(3000, seed=5, now=1_790_000_000_000)
    for event in events:
        parse_event(json.dumps(event).encode())
    kinds = {e["type"] for e in events}
    assert kinds == {"click", "reply", "post", "follow", "unfollow"}


def test_every_stage_reports_its_figures():
    plan = Plan(events=20_000, processor_events=160_000, sink_rows=160_000, repeats=1,
                freshness_rate=2_000, freshness_seconds=4)
    with Bench(plan, report=lambda line: None) as bench:
        figures = {**bench.ingest(), **bench.processor(), **bench.sink(), **bench.freshness()}
    for name in ("ingest_events_per_s", "ingest_ratio_to_raw_produce", "processor_events_per_s",
                 "processor_ratio_to_raw_consume", "sink_rows_per_s", "sink_ratio_to_raw_insert",
                 "freshness_p99_s", "processor_peak_rss_mb"):
        assert figures[name] > 0, name
    assert figures["freshness_p50_s"] <= figures["freshness_p99_s"] < 30


def test_p99_of_a_known_distribution():
    assert stages.p99([float(i) for i in range(1, 101)]) == pytest.approx(99.99, abs=0.02)
