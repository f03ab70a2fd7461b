"""Contract §6 through the real API: shares, likes, orders and refunds are accepted, stored in
canonical form (money as an exact Decimal(18, 4), no currency) under the routing keys that keep
their state in one partition, and one currency per deployment is enforced."""
from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from shared.topics import conversation_key, decode_event_batch, order_key, partition_for, routing_key
from tests.ingest.helpers import DELETE, Ingest, event, ingest_settings, running_ingest

pytestmark = pytest.mark.broker


def _stored(ingest: Ingest) -> dict[str, dict]:
    """id -> the stored event (builtins, money as Decimal) with its partition, without received_at."""
    result = {}
    for record in ingest.records():
        for stored in decode_event_batch(record.value):
            value = msgspec.to_builtins(stored, builtin_types=(Decimal,))
            value.pop("received_at")
            value["partition"] = record.partition
            assert record.partition == partition_for(routing_key(stored), ingest.settings.partitions)
            result[value.pop("id")] = value
    return result


def test_each_new_type_is_stored_canonically(ingest):
    share, like = event("share"), event("like")
    order, refund = event("conversion"), event("refund")
    body = ingest.post([share, like, order, refund]).json()
    assert body == {"accepted": 4, "rejected": 0, "errors": []}
    stored = _stored(ingest)
    conversation = partition_for(conversation_key("p1"), ingest.settings.partitions)
    order_partition = partition_for(order_key("o1"), ingest.settings.partitions)
    assert stored[share["id"]] == {"type": "share", "ts": share["ts"], "actor": "robert", "target": "ameena",
                                   "post_id": "p1", "url": "https://example.org/p1", "partition": conversation}
    assert stored[like["id"]] == {"type": "like", "ts": like["ts"], "actor": "robert", "target": "ameena",
                                  "post_id": "p1", "partition": conversation}
    assert stored[order["id"]] == {"type": "conversion", "ts": order["ts"], "actor": "sharon", "target": "ameena",
                                   "post_id": "p1", "url": "https://shop.example.org/o1", "order_id": "o1",
                                   "value": Decimal("19.99"), "partition": order_partition}
    assert stored[refund["id"]] == {"type": "refund", "ts": refund["ts"], "actor": "sharon", "order_id": "o1",
                                    "value": Decimal("5.5"), "partition": order_partition}


def test_shares_and_likes_share_the_partition_of_their_posts_conversation(ingest):
    posts = [event("post", post_id=f"p{i}") for i in range(12)]
    reactions = [event(kind, post_id=f"p{i}") for i in range(12) for kind in ("share", "like")]
    assert ingest.post(posts + reactions).json()["accepted"] == 36
    partitions = {}
    for record in ingest.records():
        for stored in decode_event_batch(record.value):
            partitions.setdefault(stored.post_id, set()).add(record.partition)
    assert all(len(found) == 1 for found in partitions.values()), partitions
    assert len(set().union(*partitions.values())) == ingest.settings.partitions  # the posts spread out


def test_an_order_and_its_refunds_share_a_partition_whoever_they_credit(ingest):
    events = []
    for i in range(12):
        events += [event("conversion", order_id=f"o{i}", target=f"shop{i}"),
                   event("refund", order_id=f"o{i}", value=DELETE), event("refund", order_id=f"o{i}", actor=None)]
    assert ingest.post(events).json()["accepted"] == 36
    partitions = {}
    for record in ingest.records():
        for stored in decode_event_batch(record.value):
            partitions.setdefault(stored.order_id, set()).add(record.partition)
    assert all(len(found) == 1 for found in partitions.values()), partitions
    assert len(set().union(*partitions.values())) == ingest.settings.partitions


@pytest.mark.parametrize("sent, kept", [
    (msgspec.Raw(b"0.1"), "0.1000"),  # not 0.1000000000000000055511151231257827 (a float's)
    (msgspec.Raw(b"12345678901234.5678"), "12345678901234.5678"),  # 18 digits: beyond a float
    (msgspec.Raw(b"99999999999999.9999"), "99999999999999.9999"),  # the largest Decimal(18, 4)
    (msgspec.Raw(b"0"), "0.0000"),  # a free order is an order
    (msgspec.Raw(b"-0.0"), "0.0000"),
    (msgspec.Raw(b"1E+2"), "100.0000"),
    (msgspec.Raw(b"2.5e-3"), "0.0025"),
    (msgspec.Raw(b"1.50000000"), "1.5000"),  # trailing zeros lose nothing
], ids=["tenth", "eighteen-digits", "max", "zero", "negative-zero", "exponent", "small-exponent", "zeros"])
def test_order_values_are_kept_exactly(ingest, sent, kept):
    order = event("conversion", value=sent)
    assert ingest.post([order]).json()["accepted"] == 1
    (record,) = ingest.records()
    assert f'"value":{kept}'.encode() in record.value  # a JSON number with four decimals
    assert _stored(ingest)[order["id"]]["value"] == Decimal(kept)


@pytest.mark.parametrize("fields, expected", [
    ({"value": DELETE}, {"order_id": "o1", "actor": "sharon"}),  # absent: the rest of the order
    ({"value": None}, {"order_id": "o1", "actor": "sharon"}),
    ({"actor": None, "value": 0.0001}, {"order_id": "o1", "value": Decimal("0.0001")}),
], ids=["no-value", "null-value", "anonymous-smallest"])
def test_refunds(ingest, fields, expected):
    refund = event("refund", **fields)
    assert ingest.post([refund]).json()["accepted"] == 1
    stored = _stored(ingest)[refund["id"]]
    assert {k: v for k, v in stored.items() if k not in ("type", "ts", "partition")} == expected


@pytest.mark.parametrize("kind, fields", [
    ("share", {"target": "robert"}),  # a self-share is accepted; it counts nowhere (contract §6)
    ("like", {"target": "robert"}),
    ("share", {"url": DELETE}),
    ("conversion", {"actor": None, "post_id": DELETE, "url": DELETE, "currency": DELETE}),
    ("conversion", {"actor": DELETE, "currency": None}),
    ("conversion", {"currency": "usd"}),  # ISO codes in lower case (as some payment APIs write them)
    ("refund", {"currency": "USD"}),
], ids=["self-share", "self-like", "share-without-url", "anonymous-order", "null-currency", "lower-case-currency",
        "refund-with-currency"])
def test_accepted_variants(ingest, kind, fields):
    sent = event(kind, **fields)
    assert ingest.post([sent]).json() == {"accepted": 1, "rejected": 0, "errors": []}
    stored = _stored(ingest)[sent["id"]]
    assert "currency" not in stored  # one currency per deployment: nothing to store
    for name, value in sent.items():
        if name not in ("id", "currency", "value") and value is not None:
            assert stored[name] == value


def test_fields_a_type_does_not_have_are_ignored(ingest):
    like = event("like", url="https://example.org/p1", order_id="o9", value=3)
    refund = event("refund", target="ameena", post_id="p1", url="https://x.org")
    post = event("post", order_id="o9", value=-1, currency="XYZ")  # a v1 type: as before, unknown fields
    assert ingest.post([like, refund, post]).json()["accepted"] == 3
    stored = _stored(ingest)
    assert {"url", "order_id", "value"}.isdisjoint(stored[like["id"]])
    assert {"target", "post_id", "url"}.isdisjoint(stored[refund["id"]])
    assert {"order_id", "value", "currency"}.isdisjoint(stored[post["id"]])


def test_the_deployment_currency_is_a_setting(kafka_settings):
    with running_ingest(ingest_settings(kafka_settings, currency="EUR")) as ingest:
        euros, dollars = event("conversion", currency="EUR"), event("conversion", currency="USD")
        unnamed, refund = event("conversion", currency=DELETE), event("refund", currency="eur")
        body = ingest.post([euros, dollars, unnamed, refund]).json()
        assert (body["accepted"], body["rejected"]) == (3, 1)
        assert body["errors"] == [{"index": 1, "id": dollars["id"], "error":
                                   "`currency` differs from this deployment's currency EUR "
                                   "(one currency per deployment, RICHNESS_CURRENCY) - at `$.currency`"}]
        assert set(_stored(ingest)) == {euros["id"], unnamed["id"], refund["id"]}
