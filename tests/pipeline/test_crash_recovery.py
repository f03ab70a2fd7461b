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
from services.stack import components
from services.stack.processes import free_port, spawn, stop, wait_healthy
from tests.pipeline.generator import event_set
from tests.pipeline.harness import Pipeline, assert_views_equal, encode_events, reference_rows

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


def expected_for(delivery):
    return reference_rows(parse_event(encode_events(e)) for e in delivery)


def post_in_background(pipeline: Pipeline, delivery: list[dict], pause_s: float = 0.05) -> threading.Thread:
    """Post the delivery in small requests spread over time, so crashes land mid-stream."""
    def run():
        for start in range(0, len(delivery), 40):
            pipeline.post(delivery[start:start + 40])
            time.sleep(pause_s)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("victim", ["processor", "sink"])
def test_sigkill_mid_stream_then_restart_is_exact(broker, clickhouse, tmp_path, victim):
    rng = random.Random(victim)
    delivery = event_set(seed=11 if victim == "processor" else 12, n_replies=300, n_clicks=200, n_edges=150)
    pipeline = Pipeline(broker, clickhouse, tmp_path / "logs")
    try:
        pipeline.start()
        sender = post_in_background(pipeline, delivery)
        for _ in range(3):
            time.sleep(rng.uniform(0.3, 1.5))
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


def test_two_processor_workers_give_the_same_results_as_one(broker, clickhouse, tmp_path):
    delivery = event_set(seed=14, n_replies=250, n_clicks=150, n_edges=120)
    pipeline = Pipeline(broker, clickhouse, tmp_path / "logs", partitions=4)
    second = None
    try:
        pipeline.start()
        spec = components.worker("processor-2", "services.processor", pipeline.settings.to_env(), free_port())
        second = spawn(spec, tmp_path / "logs")
        wait_healthy(spec, second)
        pipeline.post(delivery, batch=50)
        pipeline.drain()
        assert_views_equal(pipeline.views(), expected_for(delivery))
        log = (tmp_path / "logs" / "processor-2.log").read_text()
        topic = re.escape(pipeline.settings.events_topic)
        assert re.search(topic + r"\s*\|\s*\{\d", log), "the second worker never took partitions of the events topic"
    finally:
        if second is not None:
            stop(second)
        pipeline.stop_all()
