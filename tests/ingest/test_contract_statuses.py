"""Contract §2, status by status, against the real broker: what the client hears and what lands
in the events topic must agree (accepted = in the topic, in its routing key's partition)."""
from __future__ import annotations

import msgspec
import pytest
from aiokafka.partitioner import DefaultPartitioner

from shared.events import parse_event
from shared.topics import decode_event_batch, routing_key
from tests.contract_examples import CONTRACT_EXAMPLES
from tests.ingest.helpers import API_KEY, Ingest, event, ingest_settings, running_ingest

pytestmark = pytest.mark.broker


def stored(ingest: Ingest) -> dict[str, tuple[int, dict]]:
    """id -> (partition, event without received_at) of every event in the topic."""
    result = {}
    for record in ingest.records():
        for event_ in decode_event_batch(record.value):
            value = msgspec.to_builtins(event_)
            value.pop("received_at")
            result[value["id"]] = (record.partition, value)
    return result


def expected(ingest: Ingest, events: list[dict]) -> dict[str, tuple[int, dict]]:
    """What ``stored`` must find: the canonical events, each in the partition that Kafka's default
    partitioner (any client's) picks for its routing key."""
    partitions = list(range(ingest.settings.partitions))
    result = {}
    for raw in events:
        parsed = parse_event(msgspec.json.encode(raw))
        value = msgspec.to_builtins(parsed)
        value.pop("received_at")
        result[parsed.id] = (DefaultPartitioner()(routing_key(parsed), partitions, partitions), value)
    return result


def test_202_contract_examples_are_stored_canonically_by_routing_key(ingest):
    response = ingest.post(CONTRACT_EXAMPLES)
    assert response.status_code == 202
    assert response.json() == {"accepted": 5, "rejected": 0, "errors": []}
    assert stored(ingest) == expected(ingest, CONTRACT_EXAMPLES)
    assert stored(ingest)["e1"][1]["ts"] == 1795165200000  # RFC 3339 -> epoch ms


def test_202_single_object_body(ingest):
    one = event("follow")
    response = ingest.post(one)
    assert (response.status_code, response.json()) == (202, {"accepted": 1, "rejected": 0, "errors": []})
    assert stored(ingest) == expected(ingest, [one])


def test_202_keeps_valid_events_and_lists_invalid_ones_by_index(ingest):
    good1, good2 = event("post"), event("click")
    bad = event("follow", target="sharon")  # actor == target
    response = ingest.post([good1, bad, good2])
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert [(e["index"], e["id"]) for e in body["errors"]] == [(1, bad["id"])]
    assert stored(ingest) == expected(ingest, [good1, good2])


def test_202_duplicate_ids_in_one_request_are_all_written(ingest):
    twice = event("post")
    response = ingest.post([twice, twice])
    assert response.json() == {"accepted": 2, "rejected": 0, "errors": []}
    assert [e.id for e in ingest.events()] == [twice["id"], twice["id"]]


def test_202_unknown_fields_are_ignored_and_not_stored(ingest):
    extra = event("post", campaign="spring", nested={"a": [1, 2]})
    assert ingest.post([extra]).status_code == 202
    assert all(b"campaign" not in r.value and b"nested" not in r.value for r in ingest.records())
    assert len(ingest.events()) == 1


def test_202_full_batch_of_max_events(ingest):
    events = [event("click", id=f"c{i}", target=f"acct{i % 50}") for i in range(ingest.settings.max_batch_events)]
    response = ingest.post(events)
    assert response.json() == {"accepted": 10_000, "rejected": 0, "errors": []}
    assert len(ingest.events()) == 10_000


def test_400_when_nothing_is_acceptable_same_shape(ingest):
    bad = event("reply", parent_id="r1")  # parent_id == post_id
    response = ingest.post([bad, 7])
    assert response.status_code == 400
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (0, 2)
    assert [(e["index"], e["id"]) for e in body["errors"]] == [(0, bad["id"]), (1, None)]
    assert ingest.records() == []


@pytest.mark.parametrize("content, fragment", [
    (b'[{"id": "x", "type": "post"', "not valid JSON"),
    (b'{"id": "x",,}', "not valid JSON"),
    (b"\xff\xfe garbage", "not valid JSON"),
    (b"", "no events"),
    (b" \n ", "no events"),
    (b"[]", "no events"),
    (b"42", "must be one event object"),
    (b'"event"', "must be one event object"),
    (b"null", "must be one event object"),
], ids=["truncated", "syntax", "binary", "empty", "blank", "empty-array", "number", "string", "null"])
def test_400_unusable_body_has_an_error_message(ingest, content, fragment):
    response = ingest.post(content=content)
    assert response.status_code == 400
    assert set(response.json()) == {"error"} and fragment in response.json()["error"]
    assert ingest.records() == []


def test_400_more_than_max_events_nothing_written(ingest):
    events = [event("post", id=f"p{i}") for i in range(ingest.settings.max_batch_events + 1)]
    response = ingest.post(events)
    assert response.status_code == 400
    assert "too many events" in response.json()["error"]
    assert ingest.records() == []


@pytest.mark.parametrize("key, header", [
    (None, None),
    ("wrong-key", None),
    (None, "Bearer"),
    (None, f"Basic {API_KEY}"),
    (None, f"Bearer{API_KEY}"),
    (API_KEY + "x", None),
    (API_KEY[:-1], None),
], ids=["missing", "wrong", "empty", "basic-scheme", "no-space", "longer", "prefix"])
def test_401_missing_or_wrong_key(ingest, key, header):
    headers = {"Authorization": header} if header else None
    response = ingest.post([event("post")], key=key, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert API_KEY not in response.text
    assert ingest.records() == []


def test_401_before_reading_a_huge_body(ingest):
    response = ingest.post(content=b"x" * (ingest.settings.max_body_bytes + 1), key=None)
    assert response.status_code == 401


def test_the_bearer_scheme_is_case_insensitive(ingest):
    assert ingest.post([event("post")], key=None, headers={"Authorization": f"bearer {API_KEY}"}).status_code == 202


def test_413_declared_content_length_over_the_limit_even_if_unparseable(ingest):
    response = ingest.post(content=b"[" + b"x" * ingest.settings.max_body_bytes)
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]
    assert ingest.records() == []


def test_413_chunked_body_refused_while_streaming(kafka_settings):
    with running_ingest(ingest_settings(kafka_settings, max_body_bytes=4096)) as ingest:
        chunk = msgspec.json.encode([event("post") for _ in range(10)])[:-1] + b","

        def body():  # no Content-Length: the limit can only be enforced while reading
            yield b"["
            for _ in range(20):
                yield chunk
            yield msgspec.json.encode(event("post")) + b"]"

        response = ingest.client.post("/v1/events", content=body(),
                                      headers={"Authorization": f"Bearer {API_KEY}"})
        assert response.status_code == 413
        assert ingest.records() == []

        # The same server still serves requests within the limit.
        assert ingest.post([event("post")]).status_code == 202


def test_healthz_readyz_openapi(ingest):
    assert ingest.client.get("/healthz").json() == {"status": "ok"}
    assert ingest.client.get("/readyz").status_code == 200
    document = ingest.client.get("/openapi.json").json()
    operation = document["paths"]["/v1/events"]["post"]
    assert {"202", "400", "401", "413", "503"} <= set(operation["responses"])
    assert {"application/json", "application/x-ndjson"} <= set(operation["requestBody"]["content"])
    schemas = document["components"]["schemas"]
    assert {"Follow", "Unfollow", "Post", "Reply", "Click", "Share", "Like", "Conversion", "Refund",
            "IngestResult"} <= set(schemas)
    assert schemas["Conversion"]["properties"]["value"]["type"] == "number"  # money is a JSON number
    assert set(schemas["Conversion"]["required"]) == {"id", "type", "ts", "target", "order_id", "value"}


def test_metrics_count_requests_events_and_rejection_reasons(ingest):
    ingest.post([event("post"), event("post"), event("follow", target="sharon")])
    ingest.post([event("post")], key="wrong")
    text = ingest.client.get("/metrics").text
    assert 'richness_ingest_requests_total{status="202"} 1.0' in text
    assert 'richness_ingest_requests_total{status="401"} 1.0' in text
    assert "richness_ingest_events_accepted_total 2.0" in text
    assert 'richness_ingest_events_rejected_total{reason="self_follow"} 1.0' in text
    assert "richness_ingest_produce_seconds_count 1.0" in text
    assert "richness_ingest_requests_in_flight 0.0" in text
