"""JSON nested ~1,000 levels deep or more (what the parser cannot follow) is a 400 with a reason,
never a 500: as the whole body (any content type), inside an array element, inside an ignored
extra field, and as an NDJSON line, where it rejects that line only."""
from __future__ import annotations

import msgspec
import pytest

from tests.ingest.helpers import event

pytestmark = pytest.mark.broker

DEPTHS = [1_000, 10_000, 1_000_000]  # 2 MB of brackets at the deepest: within the body limit


def arrays(depth: int, inner: bytes = b"") -> bytes:
    return b"[" * depth + inner + b"]" * depth


def objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def with_extra(value: bytes) -> bytes:
    """A valid event with ``value`` in an unknown (ignored) field."""
    return msgspec.json.encode(event("post"))[:-1] + b',"extra":' + value + b"}"


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
@pytest.mark.parametrize("shape", ["arrays", "objects", "array of one deep element", "deep extra field"])
def test_a_deeply_nested_body_is_a_400_with_a_reason(ingest, depth, content_type, shape):
    content = {"arrays": lambda: arrays(depth), "objects": lambda: objects(depth),
               "array of one deep element": lambda: b"[" + arrays(depth) + b"]",
               "deep extra field": lambda: with_extra(arrays(depth))}[shape]()
    headers = {"Content-Type": content_type} if content_type else {"Content-Type": ""}
    response = ingest.post(content=content, headers=headers)
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    reason = body["error"] if "error" in body else body["errors"][0]["error"]
    assert "nested too deeply" in reason
    assert ingest.records() == []


@pytest.mark.parametrize("depth", DEPTHS)
def test_a_deeply_nested_ndjson_line_rejects_that_line_only(ingest, depth):
    good = event("post")
    lines = [msgspec.json.encode(good), arrays(depth), with_extra(objects(depth))]
    response = ingest.post(content=b"\n".join(lines), headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    errors = {e["index"]: e["error"] for e in body["errors"]}
    assert "Expected `object`, got `array`" in errors[1]  # not an object: refused before any depth
    assert "nested too deeply" in errors[2]
    assert [e.id for e in ingest.events()] == [good["id"]]
    metrics = ingest.client.get("/metrics").text
    assert 'richness_ingest_events_rejected_total{reason="too_deep"} 1.0' in metrics


def test_nesting_the_parser_can_follow_is_still_ignored_in_extra_fields(ingest):
    response = ingest.post(content=b"[" + with_extra(arrays(200)) + b"]")
    assert response.status_code == 202 and response.json()["accepted"] == 1
