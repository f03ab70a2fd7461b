"""A two-shard cluster with one server SIGKILLed mid-stream and started again. While the other
shard's server is down the pipeline keeps going (the sink commits, the live shard holds all of its
rows, the rest wait on disk for their shard); once it is back every view equals the reference:
nothing lost, nothing doubled. The node the sink talks to going down stalls the sink instead
(Kafka keeps the events) and the rows it held for the other shard survive the kill."""
from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from services.stack.drain import drain
from services.stack.processes import stop
from shared.clickhouse.client import connect
from shared.events import parse_event
from tests.conftest import ClickHouseCluster, start_clickhouse_cluster
from tests.pipeline.generator import event_set
from tests.pipeline.harness import Pipeline, assert_views_equal, encode_events, post_in_background, reference_rows

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


def wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout_s:.0f} s for {what}"
        time.sleep(0.2)


def kill(cluster: ClickHouseCluster, index: int) -> None:
    running = cluster.nodes[index].running
    os.killpg(running.pid, signal.SIGKILL)
    stop(running)


@pytest.mark.parametrize("victim", [1, 0], ids=["the other shard", "the node the sink writes to"])
def test_a_shard_killed_mid_stream_loses_nothing_once_it_is_back(broker, tmp_path, victim):
    cluster = start_clickhouse_cluster(tmp_path / "cluster", tmp_path / "ch-logs")
    delivery = event_set(seed=21 + victim, n_replies=250, n_clicks=150, n_edges=120)
    pipeline = Pipeline(broker, cluster, tmp_path / "logs")
    db = pipeline.settings.clickhouse_database
    nodes = [connect(pipeline.settings, url=node.url) for node in cluster.nodes]
    try:
        pipeline.start()
        half = len(delivery) // 2
        sender = post_in_background(pipeline, delivery[:half])
        # Mid-stream: the victim already holds rows of this stream.
        wait_until(lambda: nodes[victim].query(f"SELECT count() FROM {db}.events_raw_local").first_row[0] > 0,
                   120, "the first rows on the victim's shard")
        kill(cluster, victim)
        sender.join(timeout=120)
        assert not sender.is_alive()
        pipeline.post(delivery[half:])

        if victim == 1:
            # Everything is consumed and committed although a shard is down (Kafka lag only)...
            kafka_only = pipeline.settings.model_copy(update={"clickhouse_cluster": ""})
            assert asyncio.run(drain(kafka_only, 180)), "the sink stalled while a shard was down"
            # ...the live shard holds every event it owns, and the rest waits on its disk for the other.
            ids = sorted({e["id"] for e in delivery})
            owned = nodes[0].query("SELECT countIf(cityHash64(id) % 2 = 0) FROM (SELECT arrayJoin({ids:Array(String)}) AS id)",
                                   parameters={"ids": ids}).first_row[0]
            assert nodes[0].query(f"SELECT uniqExact(id) FROM {db}.events_raw_local").first_row[0] == owned
            waiting = nodes[0].query("SELECT sum(data_files) FROM system.distribution_queue WHERE database = {db:String}",
                                     parameters={"db": db}).first_row[0]
            assert waiting > 0, "no rows waited for the killed shard"
        else:
            time.sleep(5)  # the sink retries against the dead node meanwhile

        cluster.restart(victim)
        pipeline.drain(timeout_s=240)
        assert_views_equal(pipeline.views(), reference_rows(parse_event(encode_events(e)) for e in delivery))
        if victim == 0:
            assert "retrying" in (tmp_path / "logs" / "sink.log").read_text(), "the sink never saw the node down"
    finally:
        pipeline.stop_all()
        cluster.stop()
