"""The canonical form written to the event log: the five v1 types are encoded exactly as before
v1.1 (no new keys), and money survives parse -> encode -> decode digit for digit."""
from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from shared.events import MAX_MONEY, decode_event, encode_event, parse_event
from tests.contract_examples import CONTRACT_EXAMPLES

RECEIVED = 1_800_000_000_000


def test_v1_events_are_encoded_as_before():
    encoded = [encode_event(parse_event(msgspec.json.encode(e), RECEIVED)) for e in CONTRACT_EXAMPLES]
    assert encoded == [
        b'{"id":"e1","type":"post","ts":1795165200000,"received_at":1800000000000,"actor":"ameena","post_id":"p1"}',
        b'{"id":"e2","type":"reply","ts":1795165500000,"received_at":1800000000000,"actor":"robert",'
        b'"post_id":"r1","parent_id":"p1","root_id":"p1"}',
        b'{"id":"e3","type":"reply","ts":1795167000000,"received_at":1800000000000,"actor":"ameena",'
        b'"post_id":"r2","parent_id":"r1","root_id":"p1"}',
        b'{"id":"e4","type":"follow","ts":1795168800000,"received_at":1800000000000,"actor":"sharon",'
        b'"target":"ameena"}',
        b'{"id":"e5","type":"click","ts":1763632800000,"received_at":1800000000000,"target":"ameena",'
        b'"post_id":"p1","url":"https://example.org/a"}',
    ]


def test_money_is_a_json_number_with_four_decimals():
    raw = (b'{"id":"o","type":"conversion","ts":1795165200000,"target":"shop","order_id":"A-1",'
           b'"value":19.99,"currency":"USD"}')
    assert encode_event(parse_event(raw, RECEIVED)) == (
        b'{"id":"o","type":"conversion","ts":1795165200000,"received_at":1800000000000,"target":"shop",'
        b'"order_id":"A-1","value":19.9900}')


@given(amount=st.decimals(min_value=0, max_value=MAX_MONEY, places=4), refund=st.booleans())
def test_every_decimal_18_4_amount_survives_exactly(amount, refund):
    if refund and amount == 0:
        return  # a refund of nothing is refused (tests/ingest)
    kind = b'"refund"' if refund else b'"conversion","target":"shop"'
    raw = b'{"id":"o","type":' + kind + b',"ts":1795165200000,"order_id":"A","value":' + str(amount).encode() + b"}"
    event = parse_event(raw, RECEIVED)
    assert event.value == amount and event.value.as_tuple().exponent == -4
    assert decode_event(encode_event(event)) == event
    assert str(decode_event(encode_event(event)).value) == str(amount.quantize(Decimal("0.0001")))
