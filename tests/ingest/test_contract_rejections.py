"""Contract §1 and §6, rule by rule: every way an event can be invalid is rejected with its index,
id, a readable reason and a bounded metric label, while the valid event next to it is written."""
from __future__ import annotations

import re

import msgspec
import pytest

from shared.events import REJECTION_REASONS, EventError, now_ms, parse_event
from tests.ingest.helpers import DELETE, NOW_MS, Ingest, event

pytestmark = pytest.mark.broker

REQUIRED = {
    "follow": ("id", "type", "ts", "actor", "target"),
    "unfollow": ("id", "type", "ts", "actor", "target"),
    "post": ("id", "type", "ts", "actor", "post_id"),
    "reply": ("id", "type", "ts", "actor", "post_id", "parent_id", "root_id"),
    "click": ("id", "type", "ts", "target"),
    "share": ("id", "type", "ts", "actor", "target", "post_id"),
    "like": ("id", "type", "ts", "actor", "target", "post_id"),
    "conversion": ("id", "type", "ts", "target", "order_id", "value"),
    "refund": ("id", "type", "ts", "order_id"),
}
MINUTE_MS = 60_000


def _case(kind, reason, fragment, **fields):
    return pytest.param(event(kind, **fields), reason, fragment,
                        id=f"{kind}-" + "-".join(f"{k}={str(v)[:12]}" for k, v in fields.items()))


REJECTED = [
    *[_case(kind, "missing_field", f"missing required field `{name}`", **{name: DELETE})
      for kind, names in REQUIRED.items() for name in names],
    *[_case(kind, "wrong_type", "Expected `str`, got `null`", **{name: None})
      for kind, names in REQUIRED.items() for name in names if name not in ("type", "ts", "value")],
    # lengths: id 1-128, accounts and post ids 1-256, url <= 2048
    _case("post", "bad_length", "length >= 1", id=""),
    _case("post", "bad_length", "length <= 128", id="i" * 129),
    _case("follow", "bad_length", "length >= 1", actor=""),
    _case("follow", "bad_length", "length <= 256", target="t" * 257),
    _case("post", "bad_length", "length <= 256", actor="a" * 257),
    _case("post", "bad_length", "length <= 256", post_id="p" * 257),
    _case("reply", "bad_length", "length >= 1", root_id=""),
    _case("reply", "bad_length", "length <= 256", parent_id="p" * 257),
    _case("click", "bad_length", "length <= 256", target="t" * 257),
    _case("click", "bad_length", "length <= 2048", url="https://x.org/" + "u" * 2035),
    _case("share", "bad_length", "length <= 256", post_id="p" * 257),
    _case("share", "bad_length", "length <= 2048", url="https://x.org/" + "u" * 2035),
    _case("like", "bad_length", "length >= 1", actor=""),
    _case("conversion", "bad_length", "length >= 1", order_id=""),
    _case("conversion", "bad_length", "length <= 256", order_id="o" * 257),
    _case("refund", "bad_length", "length <= 256", order_id="o" * 257),
    _case("refund", "bad_length", "length >= 1", actor=""),
    # ts: RFC 3339 with an offset or integer ms; not before 2000, not > 5 minutes ahead
    _case("post", "ts_without_offset", "must carry a UTC offset", ts="2026-11-20T09:00:00"),
    _case("post", "ts_malformed", "Invalid RFC3339", ts="20 Nov 2026"),
    _case("post", "ts_malformed", "Invalid RFC3339", ts="2026-11-20"),
    _case("post", "ts_malformed", "Invalid RFC3339", ts=str(NOW_MS)),
    _case("post", "wrong_type", "got `float`", ts=NOW_MS + 0.5),
    _case("post", "wrong_type", "got `bool`", ts=True),
    _case("click", "ts_in_future", "5 minutes ahead", ts="2999-01-01T00:00:00+02:00"),
    _case("post", "ts_too_old", "before 2000-01-01", ts=946_684_799_999),
    _case("post", "ts_too_old", "before 2000-01-01", ts="1999-12-31T23:59:59.999Z"),
    _case("post", "ts_too_old", "before 2000-01-01", ts=-1),
    # cross-field rules
    _case("follow", "self_follow", "must differ from `actor`", actor="sharon", target="sharon"),
    _case("unfollow", "self_follow", "must differ from `actor`", actor="sharon", target="sharon"),
    _case("reply", "self_reply", "must differ from `post_id`", post_id="r9", parent_id="r9"),
    # money (contract §6): a JSON number, >= 0 for an order and > 0 for a refund, at most 4 decimal
    # places, within Decimal(18, 4), in the deployment's currency
    _case("conversion", "wrong_type", "Expected `number`, got `null`", value=None),
    _case("conversion", "wrong_type", "Expected `number`, got `str`", value="19.99"),
    _case("conversion", "wrong_type", "Expected `number`, got `bool`", value=True),
    _case("conversion", "wrong_type", "Expected `number`, got `object`", value={"amount": 5}),
    _case("refund", "wrong_type", "Expected `number`, got `str`", value="all"),
    _case("refund", "wrong_type", "Expected `number`, got `array`", value=[5]),
    _case("conversion", "negative_value", "`value` must not be negative", value=-0.01),
    _case("refund", "negative_value", "`value` must not be negative", value=-5),
    _case("refund", "zero_refund", "must be greater than 0", value=0),
    _case("refund", "zero_refund", "must be greater than 0", value=-0.0),
    _case("conversion", "too_many_decimals", "more than 4 decimal places", value=19.99999),
    _case("refund", "too_many_decimals", "more than 4 decimal places", value=1e-5),
    _case("conversion", "value_too_large", "at most 99999999999999.9999", value=100_000_000_000_000),
    _case("conversion", "value_too_large", "at most 99999999999999.9999", value=msgspec.Raw(b"1e400")),
    _case("conversion", "foreign_currency", "differs from this deployment's currency USD", currency="EUR"),
    _case("conversion", "foreign_currency", "differs from this deployment's currency USD", currency=""),
    _case("refund", "foreign_currency", "differs from this deployment's currency USD", currency="usd dollars"),
    _case("conversion", "wrong_type", "Expected `str | null`, got `int`", currency=840),
    # types
    _case("post", "unknown_type", "unknown event type", type="retweet"),
    _case("post", "unknown_type", "unknown event type", type="Like"),
    _case("conversion", "unknown_type", "unknown event type", type="order"),
    _case("post", "unknown_type", "unknown event type", type="Post"),
    _case("post", "wrong_type", "Expected `str`, got `int`", actor=5),
    _case("click", "wrong_type", "Expected `str | null`, got `int`", url=7),
]

NOT_OBJECTS = [1, "event", None, True, [event("post")], 2.5]


def _metric(ingest: Ingest, reason: str) -> float:
    text = ingest.client.get("/metrics").text
    match = re.search(rf'richness_ingest_events_rejected_total{{reason="{reason}"}} (\S+)', text)
    assert match, f"no metric for reason {reason}"
    return float(match.group(1))


def _assert_only_valid_written(ingest: Ingest, valid: dict) -> None:
    assert [e.id for e in ingest.events()] == [valid["id"]]


@pytest.mark.parametrize("invalid, reason, fragment", REJECTED)
def test_invalid_event_rejected_next_to_a_valid_one(ingest, invalid, reason, fragment):
    valid = event("post")
    response = ingest.post([valid, invalid])
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    (error,) = body["errors"]
    expected_id = invalid.get("id") if isinstance(invalid.get("id"), str) else None
    assert (error["index"], error["id"]) == (1, expected_id)
    assert fragment in error["error"], error["error"]
    assert _metric(ingest, reason) == 1
    _assert_only_valid_written(ingest, valid)


@pytest.mark.parametrize("invalid, reason, fragment", REJECTED)
def test_the_broken_rule_names_its_reason(invalid, reason, fragment):
    """The label comes from the rule that refused the event, not from its message's wording."""
    with pytest.raises(EventError) as refused:
        parse_event(msgspec.json.encode(invalid), now_ms())
    assert (refused.value.reason, fragment in str(refused.value)) == (reason, True)
    assert reason in REJECTION_REASONS


@pytest.mark.parametrize("element", NOT_OBJECTS, ids=lambda v: type(v).__name__)
def test_non_object_element_rejected(ingest, element):
    valid = event("post")
    body = ingest.post([element, valid]).json()
    assert body["errors"] == [{"index": 0, "id": None, "error": body["errors"][0]["error"]}]
    assert body["errors"][0]["error"].startswith("Expected `object`")
    assert _metric(ingest, "not_an_object") == 1
    _assert_only_valid_written(ingest, valid)


def test_id_that_is_not_a_string_is_reported_as_null(ingest):
    body = ingest.post([event("post"), event("post", id=12)]).json()
    assert body["errors"][0]["id"] is None and "Expected `str`, got `int`" in body["errors"][0]["error"]


@pytest.mark.parametrize("fields, expected_ts", [
    ({"ts": "2026-11-20T10:00:00+01:00"}, 1795165200000),
    ({"ts": "2026-11-20T09:00:00.250Z"}, 1795165200250),
    ({"ts": "2026-11-20T03:30:00-05:30"}, 1795165200000),
    ({"ts": 946_684_800_000}, 946_684_800_000),
    ({"ts": "2000-01-01T00:00:00Z"}, 946_684_800_000),
], ids=["offset+1", "utc-millis", "offset-0530", "int-2000", "rfc-2000"])
def test_accepted_timestamps_are_stored_as_epoch_ms(ingest, fields, expected_ts):
    assert ingest.post(event("post", **fields)).status_code == 202
    (stored,) = ingest.events()
    assert stored.ts == expected_ts


def test_five_minutes_ahead_of_the_server_clock_is_the_limit(ingest):
    now = now_ms()  # at run time: the limit moves with the clock
    soon, too_late = event("post", ts=now + 4 * MINUTE_MS), event("post", ts=now + 6 * MINUTE_MS)
    body = ingest.post([soon, too_late]).json()
    assert (body["accepted"], [e["id"] for e in body["errors"]]) == (1, [too_late["id"]])
    assert "5 minutes ahead" in body["errors"][0]["error"]
    assert _metric(ingest, "ts_in_future") == 1
    assert [(e.id, e.ts) for e in ingest.events()] == [(soon["id"], soon["ts"])]


@pytest.mark.parametrize("fields", [
    {"kind": "post", "id": "i" * 128, "actor": "a" * 256, "post_id": "p" * 256},
    {"kind": "follow", "id": "x", "actor": "a", "target": "t" * 256},
    {"kind": "click", "url": "https://x.org/" + "u" * 2034},
    {"kind": "click", "actor": DELETE, "post_id": DELETE, "url": DELETE},
    {"kind": "click", "actor": None, "post_id": None, "url": None},
    {"kind": "click", "actor": "reader", "url": ""},
    {"kind": "reply", "parent_id": "p1", "root_id": "p1"},
    {"kind": "reply", "parent_id": "r0", "root_id": "p1"},
    {"kind": "post", "actor": "名前 with spaces\n\"quotes\" \u0000"},
], ids=["max-lengths", "one-char-id", "url-2048", "anonymous-click", "null-optionals", "empty-url",
        "direct-reply", "nested-reply", "unicode-and-controls"])
def test_accepted_boundaries(ingest, fields):
    kind = fields.pop("kind")
    valid = event(kind, **fields)
    assert ingest.post([valid]).json() == {"accepted": 1, "rejected": 0, "errors": []}
    stored = msgspec.to_builtins(ingest.events()[0])
    stored.pop("received_at")
    assert stored == {name: value for name, value in valid.items() if value is not None}
