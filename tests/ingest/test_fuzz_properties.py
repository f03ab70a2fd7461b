"""Property-based: whatever a client sends, the API answers 202/400 (never 5xx), its counts add
up, and every record in the topic is a valid canonical event under its routing key. Generated
shapes include nesting depth, from flat to far past what the parser can follow."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import EVENT_TYPES, MAX_MONEY, parse_event
from shared.topics import decode_event_batch, partition_for, routing_key
from tests.ingest.helpers import NOW_MS, Ingest

pytestmark = pytest.mark.broker

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)), max_leaves=20)

FIELDS = ("id", "type", "ts", "actor", "target", "post_id", "parent_id", "root_id", "url", "order_id", "value",
          "currency")
REQUIRED = {"follow": ("actor", "target"), "unfollow": ("actor", "target"), "post": ("actor", "post_id"),
            "reply": ("actor", "post_id", "parent_id", "root_id"), "click": ("target",),
            "share": ("actor", "target", "post_id"), "like": ("actor", "target", "post_id"),
            "conversion": ("target", "order_id"), "refund": ("order_id",)}
names = st.text(min_size=1, max_size=40)


def _json_number(amount: Decimal) -> msgspec.Raw:
    return msgspec.Raw(str(amount).encode())  # the number's own digits, as a client would send them


valid_money = st.decimals(min_value=0, max_value=MAX_MONEY, places=4).map(_json_number)
# Any finite decimal: negative, too precise, too large, exponents; valid JSON either way.
any_money = st.decimals(allow_nan=False, allow_infinity=False).map(_json_number)
currencies = st.sampled_from(["USD", "usd", "EUR", "", "US Dollar"])
valid_timestamps = st.one_of(
    st.integers(min_value=946_684_800_000, max_value=NOW_MS),
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2026, 1, 1),
                 timezones=st.timezones()).map(lambda dt: dt.isoformat()),
)
field_values = st.one_of(json_values, names, st.text(max_size=300), valid_timestamps, st.integers(),
                         st.datetimes().map(lambda dt: dt.isoformat()), st.sampled_from(EVENT_TYPES),
                         valid_money, any_money, currencies)


@st.composite
def event_objects(draw) -> dict:
    """Events that are valid, then zero to two fields removed or replaced by anything, so that
    many are valid and the rest break the contract in every way (plus unknown fields)."""
    kind = draw(st.sampled_from(EVENT_TYPES))
    obj = {"id": draw(st.text(min_size=1, max_size=128)), "type": kind, "ts": draw(valid_timestamps)}
    obj.update({name: draw(names) for name in REQUIRED[kind]})
    if kind == "conversion" or (kind == "refund" and draw(st.booleans())):
        obj["value"] = draw(valid_money)
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from((*FIELDS, "extra")))
        if draw(st.booleans()):
            obj.pop(name, None)
        else:
            obj[name] = draw(field_values)
    return obj


elements = st.one_of(event_objects(), event_objects(), event_objects(), json_values)

# Nesting depth: shallow, around the ~1,000 levels where the parser stops, and far beyond.
depths = st.one_of(st.integers(1, 60), st.integers(900, 1_100), st.integers(1_100, 30_000))


@st.composite
def nested_values(draw) -> bytes:
    """A JSON value nested ``depth`` levels, arrays and objects in a drawn pattern, as bytes
    (an encoder would refuse to build the deepest ones)."""
    depth, pattern = draw(depths), draw(st.sampled_from(["[", "{", "[{", "{[["]))
    leaf = msgspec.json.encode(draw(json_scalars))
    levels = [pattern[level % len(pattern)] for level in range(depth)]
    return (b"".join(b"[" if kind == "[" else b'{"k":' for kind in levels) + leaf
            + b"".join(b"]" if kind == "[" else b"}" for kind in reversed(levels)))


@st.composite
def nested_lines(draw) -> bytes:
    """A deeply nested value as a whole element, or inside an event's ignored extra field."""
    value = draw(nested_values())
    if draw(st.booleans()):
        return value
    head = msgspec.json.encode(draw(event_objects()))[:-1]
    return head + (b"" if head == b"{" else b",") + b'"extra":' + value + b"}"

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


def _check_answer(response, element_count: int | None) -> int:
    assert response.status_code in (202, 400), response.text
    body = response.json()
    if "error" in body:
        assert response.status_code == 400 and isinstance(body["error"], str)
        return 0
    assert body["rejected"] == len(body["errors"])
    if element_count is not None:
        assert body["accepted"] + body["rejected"] == element_count
        assert [e["index"] for e in body["errors"]] == sorted({e["index"] for e in body["errors"]})
    assert (response.status_code == 202) == (body["accepted"] > 0)
    return body["accepted"]


_encode_numbers = msgspec.json.Encoder(decimal_format="number").encode  # money as JSON numbers


def _assert_topic_holds_exactly_valid_events(ingest: Ingest, accepted: int) -> None:
    partitions = ingest.settings.partitions
    stored_count = 0
    for record in ingest.records():
        for stored in decode_event_batch(record.value):  # every record decodes
            incoming = msgspec.to_builtins(stored, builtin_types=(Decimal,))
            incoming.pop("received_at")
            assert parse_event(_encode_numbers(incoming), stored.received_at) == stored
            assert record.partition == partition_for(routing_key(stored), partitions)
            stored_count += 1
    assert stored_count == accepted


@FUZZ
@given(batch=st.lists(elements, min_size=0, max_size=20))
def _post_arrays(ingest: Ingest, accepted: list[int], batch: list) -> None:
    accepted.append(_check_answer(ingest.post(batch), len(batch) or None))


@FUZZ
@given(value=json_values)
def _post_values(ingest: Ingest, accepted: list[int], value: object) -> None:
    count = 1 if isinstance(value, dict) else len(value) if isinstance(value, list) and value else None
    accepted.append(_check_answer(ingest.post(value), count))


@FUZZ
@given(content=st.one_of(
    st.binary(max_size=600),
    st.lists(elements, max_size=8).map(msgspec.json.encode).flatmap(
        lambda raw: st.integers(0, len(raw)).map(lambda cut: raw[:cut] + raw[cut + 1:]))),
    ndjson=st.booleans())
def _post_bytes(ingest: Ingest, accepted: list[int], content: bytes, ndjson: bool) -> None:
    headers = {"Content-Type": "application/x-ndjson" if ndjson else "application/json"}
    accepted.append(_check_answer(ingest.post(content=content, headers=headers), None))


@FUZZ
@given(elements=st.lists(st.one_of(elements.map(msgspec.json.encode), nested_lines()), min_size=1, max_size=4),
       shape=st.sampled_from(["array", "one value", "ndjson"]),
       content_type=st.sampled_from(["application/json", "text/plain", ""]))
def _post_nested(ingest: Ingest, accepted: list[int], elements: list[bytes], shape: str, content_type: str) -> None:
    if shape == "ndjson":
        content, content_type = b"\n".join(elements), "application/x-ndjson"
    else:
        content = b"[" + b",".join(elements) + b"]" if shape == "array" else elements[0]
    accepted.append(_check_answer(ingest.post(content=content, headers={"Content-Type": content_type}), None))


@FUZZ
@given(lines=st.lists(st.one_of(elements.map(msgspec.json.encode), st.binary(max_size=50), nested_lines()),
                      max_size=12))
def _post_ndjson_lines(ingest: Ingest, accepted: list[int], lines: list[bytes]) -> None:
    response = ingest.post(content=b"\n".join(lines), headers={"Content-Type": "application/x-ndjson"})
    accepted.append(_check_answer(response, None))


@pytest.mark.parametrize("scenario", [_post_arrays, _post_values, _post_bytes, _post_ndjson_lines, _post_nested],
                         ids=["json-arrays", "json-values", "arbitrary-bytes", "ndjson-lines", "nesting-depth"])
def test_never_5xx_and_only_valid_events_reach_the_topic(ingest, scenario):
    accepted: list[int] = []
    scenario(ingest, accepted)
    _assert_topic_holds_exactly_valid_events(ingest, sum(accepted))
