"""End to end: random event sets through ingest → broker → processor → sink → ClickHouse, and
every row of every contract view equals the reference implementation's — on one server and on a
two-shard cluster (each test runs on both)."""
from __future__ import annotations

import pytest

from shared.events import parse_event
from tests.contract_examples import CONTRACT_EXAMPLES
from tests.pipeline.generator import event_set
from tests.pipeline.harness import Pipeline, assert_views_equal, encode_events, reference_rows

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


@pytest.fixture
def pipeline(broker, clickhouse_target, tmp_path):
    pipe = Pipeline(broker, clickhouse_target, tmp_path / "logs")
    yield pipe
    pipe.stop_all()


def expected_for(delivery: list[dict]):
    return reference_rows(parse_event(encode_events(e)) for e in delivery)


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_duplicated_delivery_matches_reference(pipeline, seed):
    delivery = event_set(seed)
    pipeline.start()
    pipeline.post(delivery, batch=97)
    pipeline.drain()
    assert_views_equal(pipeline.views(), expected_for(delivery))


def test_contract_example(pipeline):
    delivery = CONTRACT_EXAMPLES
    pipeline.start()
    pipeline.post(list(reversed(delivery)))
    pipeline.drain()
    views = pipeline.views()
    assert_views_equal(views, expected_for(delivery))
    thread = views["threads"][0]
    assert (thread["owner"], thread["replies"], thread["max_depth"], thread["participants"],
            thread["owner_replies"]) == ("ameena", 2, 2, 1, 1)


def test_services_report_their_work_as_prometheus_metrics(pipeline):
    delivery = event_set(3)
    pipeline.start()
    pipeline.post(delivery)
    pipeline.drain()
    distinct = len({e["id"] for e in delivery})
    assert pipeline.metric("processor", "richness_processor_inputs_total", stage="events") >= distinct
    assert pipeline.metric("accounts", "richness_processor_inputs_total", stage="accounts") > 0
    assert pipeline.metric("processor", "richness_processor_facts_total", kind="thread") > 0
    assert pipeline.metric("accounts", "richness_processor_facts_total", kind="day") > 0
    assert pipeline.metric("processor", "richness_processor_changes_total") > 0
    assert pipeline.metric("processor", "richness_processor_state_writes_total", stage="events") > 0
    assert pipeline.metric("processor", "richness_processor_batch_size_count", stage="events") > 0
    assert pipeline.metric("sink", "richness_sink_rows_total", table="events_raw") >= distinct
    assert pipeline.metric("sink", "richness_sink_insert_seconds_count", table="account_days") > 0
    assert pipeline.metric("sink", "richness_sink_batch_rows_count") > 0
    assert pipeline.metric("ingest", "richness_ingest_events_accepted_total") == len(delivery)
