"""The benchmark machinery measures what it says (tiny sizes: figures, not speed, are checked)."""
from __future__ import annotations

import os

import pytest

from services.bench import stages
from services.bench.run import Bench, Plan
from services.bench.workload import encode_json, realistic_events, reply_trees
from shared.events import parse_event

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


def test_workload_is_valid_and_deterministic():
    events = realistic_events(3000, seed=5, now=1_790_000_000_000)
    assert events == realistic_events(3000, seed=5, now=1_790_000_000_000)
    for event in events:
        parse_event(encode_json(event))
    kinds = {e["type"] for e in events}
    assert kinds == {"click", "reply", "post", "follow", "unfollow", "like", "share", "conversion", "refund"}


def test_viral_workload_is_one_conversation_with_replies_before_their_parent():
    events = list(reply_trees(5000, 1, seed=3, start=1_790_000_000_000))
    assert events[0]["type"] == "post" and {e["root_id"] for e in events[1:]} == {events[0]["post_id"]}
    at = {e["post_id"]: i for i, e in enumerate(events)}
    early = sum(at.get(e["parent_id"], -1) > i for i, e in enumerate(events) if e["type"] == "reply")
    assert 0.2 < early / 5000 < 0.35


def test_every_stage_reports_its_figures():
    plan = Plan(events=20_000, processor_events=160_000, sink_rows=160_000, repeats=1,
                freshness_rate=2_000, freshness_seconds=4)
    # A processor batch takes up to 50,000 events and a rate needs at least two batches: the
    # processor and viral stages get several batches' worth.
    with Bench(plan, report=lambda line: None) as bench:
        figures = {**bench.ingest(), **bench.processor(), **bench.viral(120_000, spread_over=300), **bench.sink(),
                   **bench.freshness()}
    for name in ("ingest_events_per_s", "ingest_ratio_to_raw_produce", "processor_events_per_s",
                 "processor_ratio_to_raw_consume", "sink_rows_per_s", "sink_ratio_to_raw_insert",
                 "freshness_p99_s", "processor_peak_rss_mb", "viral_events_per_s", "viral_ratio_to_spread"):
        assert figures[name] > 0, name
    # Each ratio is the quotient of the two rates it names, measured in the same run (with one
    # repeat, the sink's median of per-run ratios is that run's).
    quotients = {"ingest_ratio_to_raw_produce": ("ingest_events_per_s", "raw_produce_events_per_s"),
                 "processor_ratio_to_raw_consume": ("processor_events_per_s", "raw_consume_events_per_s"),
                 "sink_ratio_to_raw_insert": ("sink_rows_per_s", "raw_insert_rows_per_s"),
                 "viral_ratio_to_spread": ("viral_events_per_s", "spread_events_per_s")}
    for ratio, (rate, base) in quotients.items():
        assert figures[ratio] == pytest.approx(figures[rate] / figures[base], rel=0.01, abs=0.002), ratio
    assert 30 < figures["processor_peak_rss_mb"] < 4000  # a worker's resident memory, in MB
    # Two workers busy over the measured steps: their CPU per event, times the events per second,
    # is the cores they kept busy — more than none, no more than the machine has.
    cores_busy = figures["processor_cpu_us_per_event"] * figures["processor_events_per_s"] / 1e6
    assert 0.2 < cores_busy <= (os.cpu_count() or 1) * 1.1, cores_busy
    assert figures["freshness_p50_s"] <= figures["freshness_p99_s"] < 30


def test_p99_of_a_known_distribution():
    assert stages.p99([float(i) for i in range(1, 101)]) == pytest.approx(99.99, abs=0.02)
