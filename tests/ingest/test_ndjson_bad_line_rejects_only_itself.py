"""NDJSON bodies: one bad line rejects that event only; blank lines are not events."""
from __future__ import annotations

import msgspec
import pytest

from tests.ingest.helpers import event

pytestmark = pytest.mark.broker

NDJSON = {"Content-Type": "application/x-ndjson"}


def test_bad_line_is_rejected_alone_and_indexes_skip_blank_lines(ingest):
    first, second, third = event("post"), event("follow"), event("click")
    lines = [msgspec.json.encode(first), b"", b'{"id": "broken", "type": "post",', b"   ",
             msgspec.json.encode(second) + b"\r", b"[1, 2]", msgspec.json.encode(third)]
    response = ingest.post(content=b"\n".join(lines) + b"\n", headers=NDJSON)
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 2)
    assert [(e["index"], e["id"]) for e in body["errors"]] == [(1, None), (3, None)]
    assert "not valid JSON" in body["errors"][0]["error"]
    assert "Expected `object`, got `array`" in body["errors"][1]["error"]
    assert sorted(e.id for e in ingest.events()) == sorted(
        e["id"] for e in (first, second, third))


def test_ndjson_media_type_parameters_and_aliases(ingest):
    for content_type in ("application/x-ndjson; charset=utf-8", "Application/NDJSON", "application/jsonl"):
        lines = msgspec.json.encode(event("post")) + b"\n" + msgspec.json.encode(event("post"))
        response = ingest.post(content=lines, headers={"Content-Type": content_type})
        assert response.json()["accepted"] == 2, content_type


def test_ndjson_all_lines_bad_is_400(ingest):
    response = ingest.post(content=b"nope\n{}\n", headers=NDJSON)
    assert response.status_code == 400
    assert response.json()["rejected"] == 2
    assert ingest.records() == []


def test_ndjson_over_max_events_is_400(ingest):
    line = msgspec.json.encode(event("post"))
    response = ingest.post(content=b"\n".join([line] * (ingest.settings.max_batch_events + 1)), headers=NDJSON)
    assert response.status_code == 400 and "too many events" in response.json()["error"]
    assert ingest.records() == []


def test_json_array_is_not_ndjson(ingest):
    """Without the NDJSON media type, two objects on two lines are an unparseable JSON body."""
    lines = msgspec.json.encode(event("post")) + b"\n" + msgspec.json.encode(event("post"))
    response = ingest.post(content=lines)
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
