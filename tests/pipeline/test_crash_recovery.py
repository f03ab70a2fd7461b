"""Exact results after crashes: SIGKILL of the processor or the sink at random points mid-stream,
and ClickHouse stopped for 30 s mid-stream. At-least-once delivery + versioned, deduplicated
facts => no loss and no double count."""
from __future__ import annotations

import re
import random
import threading
import time

import pytest

from shared.events import parse_event
from tests.conftest import start_clickhouse
from services.stack.processes import spawn, stop, wait_healthy
from tests.pipeline.generator import event_set
from tests.pipeline.harness import Pipeline, assert_views_equal, encode_events, post_in_background, reference_rows

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


def expected_for(delivery):
    return reference_rows(parse_event(encode_events(e)) for e in delivery)


# What each victim counts as it works: a kill after it has counted something lands mid-stream.
PROGRESS = {"processor": ("richness_processor_inputs_total", {"stage": "events"}),
            "accounts": ("richness_processor_inputs_total", {"stage": "accounts"}),
            "sink": ("richness_sink_rows_total", {})}


def wait_until_working(pipeline: Pipeline, victim: str, timeout_s: float = 60) -> None:
    name, labels = PROGRESS[victim]
    deadline = time.monotonic() + timeout_s
    while not pipeline.metric(victim, name, **labels):
        assert time.monotonic() < deadline, f"{victim} did no work in {timeout_s:.0f} s"
        time.sleep(0.05)


@pytest.mark.parametrize("victim", ["processor", "accounts", "sink"])
def test_sigkill_mid_stream_then_restart_is_exact(broker, clickhouse, tmp_path, victim):
    rng = random.Random(victim)
    delivery = event_set(seed={"processor": 11, "accounts": 15, "sink": 12}[victim], n_replies=300, n_clicks=200,
                         n_edges=150)
    pipeline = Pipeline(broker, clickhouse, tmp_path / "logs")
    try:
        pipeline.start()
        rest = threading.Event()
        sender = post_in_background(pipeline, delivery, pause_s=0.1, held=rest)
        # The first kill once the victim has done some of the stream, with more of it still coming
        # (a kill of an idle worker would test nothing); the later ones at random moments, which
        # include its start-up and recovery. The rest is held back until then: on a slow day the
        # victim's first batch can come after a free-running sender has finished.
        wait_until_working(pipeline, victim)
        rest.set()
        for kill in range(3):
            time.sleep(rng.uniform(0, 0.3) if kill == 0 else rng.uniform(0.3, 1.5))
            pipeline.kill(victim)
            time.sleep(rng.uniform(0, 0.5))
            pipeline.start(victim)
        sender.join(timeout=120)
        assert not sender.is_alive()
        pipeline.drain()
        assert_views_equal(pipeline.views(), expected_for(delivery))
    finally:
        pipeline.stop_all()


def test_clickhouse_down_for_30s_mid_stream_is_exact(broker, tmp_path):
    """The sink retries with backoff and commits nothing until ClickHouse is back."""
    home, logs = tmp_path / "clickhouse", tmp_path / "ch-logs"
    server = start_clickhouse(home, logs)
    delivery = event_set(seed=13, n_replies=200, n_clicks=150)
    pipeline = Pipeline(broker, server, tmp_path / "logs")
    try:
        pipeline.start()
        half = len(delivery) // 2
        pipeline.post(delivery[:half])
        stop(server.running)
        pipeline.post(delivery[half:])  # accepted while ClickHouse is down: Kafka holds them
        time.sleep(30)
        server = start_clickhouse(home, logs, http_port=server.http_port, tcp_port=server.tcp_port,
                                  admin_password=server.admin_password, reader_password=server.reader_password)
        pipeline.drain(timeout_s=180)
        assert_views_equal(pipeline.views(), expected_for(delivery))
        retries = (tmp_path / "logs" / "sink.log").read_text()
        assert "retrying" in retries, "the sink never had to retry: ClickHouse was not really down"
    finally:
        pipeline.stop_all()
        stop(server.running)


def test_two_workers_of_each_stage_give_the_same_results_as_one(broker, clickhouse, tmp_path):
    delivery = event_set(seed=14, n_replies=250, n_clicks=150, n_edges=120)
    pipeline = Pipeline(broker, clickhouse, tmp_path / "logs", partitions=4)
    seconds = []
    try:
        pipeline.start()
        for name, stage in (("processor-2", "events"), ("accounts-2", "accounts")):
            spec = pipeline.processor_spec(name, stage)
            seconds.append(spawn(spec, tmp_path / "logs"))
            wait_healthy(spec, seconds[-1])
        pipeline.post(delivery, batch=50)
        pipeline.drain()
        assert_views_equal(pipeline.views(), expected_for(delivery))
        for name, topic in (("processor-2", pipeline.settings.events_topic),
                            ("accounts-2", pipeline.settings.changes_topic)):
            log = (tmp_path / "logs" / f"{name}.log").read_text()
            assert re.search(re.escape(topic) + r"\s*\|\s*\{\d", log), f"{name} never took partitions of {topic}"
    finally:
        for running in seconds:
            stop(running)
        pipeline.stop_all()
