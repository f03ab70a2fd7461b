"""The richest conversation must not stop the pipeline: 50,000 replies in ONE conversation (a
random tree, about 30 % delivered before their parent) through the real pipeline with Kafka's
and aiokafka's default 1 MiB record limit, the processor SIGKILLed in the middle and restarted:
the conversation's row and its owner's days equal the reference, and no record anywhere came
near the limit."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest
from aiokafka import AIOKafkaConsumer

from shared.events import parse_event
from tests.pipeline.generator import viral_conversation
from tests.pipeline.harness import Pipeline, assert_views_equal, encode_events, reference_rows

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]

ONE_MIB = 1024 * 1024


async def largest_record(bootstrap: str, topics: list[str]) -> dict[str, int]:
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, fetch_max_bytes=8 * ONE_MIB)
    await consumer.start()
    largest = dict.fromkeys(topics, 0)
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=2000)
            if not batches:
                return largest
            for tp, records in batches.items():
                largest[tp.topic] = max(largest[tp.topic], *(len(r.value or b"") + len(r.key or b"") for r in records))
    finally:
        await consumer.stop()


def test_fifty_thousand_replies_in_one_conversation_with_a_processor_crash(broker, clickhouse, tmp_path):
    delivery = viral_conversation(50_000)
    pipeline = Pipeline(broker, clickhouse, tmp_path / "logs")
    try:
        pipeline.start()
        # The first 30,000 go in before the crash and the rest after it, so the processor can never
        # have finished the conversation when it is killed, however large its batches are.
        first, rest = delivery[:30_000], delivery[30_000:]
        pipeline.post(first, batch=2000)
        deadline = time.monotonic() + 120
        while (done := pipeline.metric("processor", "richness_processor_inputs_total", stage="events")) < 15_000:
            assert time.monotonic() < deadline, "the processor never got going"
            time.sleep(0.2)
        pipeline.kill("processor")  # SIGKILL in the middle of the conversation
        assert done < len(delivery), "the processor had finished before it was killed"
        sender = threading.Thread(target=pipeline.post, args=(rest,), kwargs={"batch": 2000}, daemon=True)
        sender.start()
        pipeline.start("processor")
        pipeline.kill("accounts")  # and its second stage, while the owner's figures pile up
        pipeline.start("accounts")
        sender.join(timeout=300)
        assert not sender.is_alive()
        pipeline.drain(timeout_s=300)

        expected = reference_rows(parse_event(encode_events(e)) for e in delivery)
        views = pipeline.views()
        assert_views_equal(views, expected)
        [thread] = views["threads"]
        assert (thread["replies"], thread["max_depth"]) == (50_000, expected["threads"][0]["max_depth"])
        assert thread["participants"] > 4900 and thread["h_index"] > 10
        for stage in ("processor", "accounts"):
            assert pipeline.metric(stage, "richness_processor_dead_letters_total", reason="state_too_large") == 0

        settings = pipeline.settings
        largest = asyncio.run(largest_record(broker.bootstrap, [
            settings.events_topic, settings.changes_topic, settings.facts_topic,
            f"{settings.processor_group}-events-state-changelog", f"{settings.accounts_group}-accounts-state-changelog"]))
        assert all(0 < size < ONE_MIB // 2 for size in largest.values()), largest
    finally:
        pipeline.stop_all()
