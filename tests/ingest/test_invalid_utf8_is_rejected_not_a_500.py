"""Regression (found by the fuzz tests): invalid UTF-8 inside a JSON string made msgspec raise
UnicodeDecodeError, which parse_event does not translate, so the request failed with a 500."""
from __future__ import annotations

import msgspec
import pytest

from tests.ingest.helpers import event

pytestmark = pytest.mark.broker


@pytest.mark.parametrize("ndjson", [False, True], ids=["json-array", "ndjson"])
def test_invalid_utf8_in_a_string_rejects_only_that_event(ingest, ndjson):
    valid = msgspec.json.encode(event("post"))
    broken_event = event("post", actor="ACTOR")
    broken = msgspec.json.encode(broken_event).replace(b"ACTOR", b"\xc3(")
    body = valid + b"\n" + broken if ndjson else b"[" + valid + b"," + broken + b"]"
    headers = {"Content-Type": "application/x-ndjson"} if ndjson else None
    response = ingest.post(content=body, headers=headers)
    assert response.status_code == 202
    assert response.json()["errors"] == [
        {"index": 1, "id": broken_event["id"], "error": "not valid JSON: invalid UTF-8 in a string"}]
    assert len(ingest.events()) == 1


def test_single_object_with_invalid_utf8_is_400(ingest):
    response = ingest.post(content=b'{"id": "\xff", "type": "post"}')
    assert response.status_code == 400
    assert response.json()["rejected"] == 1
