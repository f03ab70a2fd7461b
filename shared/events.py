"""The event contract (contract §1 and §6) as msgspec models, one per event type.

Every service uses these definitions: the ingest API validates with them, the processor and the
sink decode the canonical form written to Kafka (``Event``).

Money (``value`` of ``conversion`` and ``refund``) is a ``decimal.Decimal`` from the request's
JSON text to ClickHouse's Decimal(18, 4): it is read from the raw JSON number (never through a
float) and written to the event log as a JSON number with exactly four decimals.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Literal, Union

import msgspec

EVENT_TYPES = ("follow", "unfollow", "post", "reply", "click", "share", "like", "conversion", "refund")

MIN_TS_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_FUTURE_MS = 5 * 60 * 1000  # events may be at most 5 minutes ahead of the server clock

EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Account = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
PostId = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Url = Annotated[str, msgspec.Meta(max_length=2048)]
OrderId = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
# Read as the raw JSON text so that the amount never passes through a float (see ``_money``);
# the schema says what the API accepts.
MONEY_DESCRIPTION = "an amount in the deployment's currency: a JSON number with at most 4 decimal places"
OrderValue = Annotated[msgspec.Raw, msgspec.Meta(
    description=MONEY_DESCRIPTION, extra_json_schema={"type": "number", "minimum": 0})]
RefundValue = Annotated[msgspec.Raw, msgspec.Meta(
    description=MONEY_DESCRIPTION + "; absent or null: the rest of the order",
    extra_json_schema={"type": ["number", "null"], "exclusiveMinimum": 0})]
Currency = Annotated[str, msgspec.Meta(
    description="ISO 4217 code; when present it must be the deployment's currency (RICHNESS_CURRENCY)")]

DEFAULT_CURRENCY = "USD"
MONEY_DECIMALS = 4
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_DECIMALS)  # 0.0001
MAX_MONEY = Decimal(10) ** (18 - MONEY_DECIMALS) - MONEY_QUANTUM  # the largest Decimal(18, 4)
# RFC 3339 with an offset, or integer epoch milliseconds.
Timestamp = Union[datetime, int]


class EventError(ValueError):
    """An event that breaks the contract: the message says which field and why; ``reason`` names
    the broken rule with one of ``REJECTION_REASONS`` — a metric label, which must never carry
    client data the way a message may."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


REJECTION_REASONS = ("malformed_json", "too_deep", "not_an_object", "unknown_type", "missing_field", "wrong_type",
                     "bad_length", "ts_malformed", "ts_without_offset", "ts_too_old", "ts_in_future", "self_follow",
                     "self_reply", "foreign_currency", "negative_value", "zero_refund", "value_too_large",
                     "too_many_decimals", "invalid")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)


def ts_to_ms(ts: datetime | int) -> int:
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            raise EventError("`ts` must carry a UTC offset (e.g. 2026-11-20T09:00:00Z) - at `$.ts`",
                             "ts_without_offset")
        # Exact integer arithmetic: float seconds * 1000 comes out 1 ms low for some times.
        return (ts - _EPOCH) // _MILLISECOND
    return ts


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


class _Incoming(msgspec.Struct, tag_field="type", forbid_unknown_fields=False):
    """Shared fields of an incoming event. Unknown extra fields are ignored."""

    id: EventId
    ts: Timestamp


class Follow(_Incoming, tag="follow"):
    actor: Account
    target: Account


class Unfollow(_Incoming, tag="unfollow"):
    actor: Account
    target: Account


class Post(_Incoming, tag="post"):
    actor: Account
    post_id: PostId


class Reply(_Incoming, tag="reply"):
    actor: Account
    post_id: PostId
    parent_id: PostId
    root_id: PostId


class Click(_Incoming, tag="click"):
    target: Account
    actor: Account | None = None
    post_id: PostId | None = None
    url: Url | None = None


class Share(_Incoming, tag="share"):
    actor: Account
    target: Account
    post_id: PostId
    url: Url | None = None


class Like(_Incoming, tag="like"):
    actor: Account
    target: Account
    post_id: PostId


class Conversion(_Incoming, tag="conversion"):
    target: Account
    order_id: OrderId
    value: OrderValue
    actor: Account | None = None
    post_id: PostId | None = None
    url: Url | None = None
    currency: Currency | None = None


class Refund(_Incoming, tag="refund"):
    order_id: OrderId
    value: RefundValue | msgspec.UnsetType = msgspec.UNSET
    actor: Account | None = None
    currency: Currency | None = None


IncomingEvent = Union[Follow, Unfollow, Post, Reply, Click, Share, Like, Conversion, Refund]


class Event(msgspec.Struct, omit_defaults=True, frozen=True, gc=False):
    """Canonical, validated event as written to the event log and stored in ClickHouse.

    ``ts`` and ``received_at`` are epoch milliseconds (UTC).
    """

    id: str
    type: Literal["follow", "unfollow", "post", "reply", "click", "share", "like", "conversion", "refund"]
    ts: int
    received_at: int
    actor: str | None = None
    target: str | None = None
    post_id: str | None = None
    parent_id: str | None = None
    root_id: str | None = None
    url: str | None = None
    order_id: str | None = None
    # conversion: the order's value; refund: the amount asked back (None: the rest of the order).
    # Always exactly MONEY_DECIMALS decimal places and within Decimal(18, 4).
    value: Decimal | None = None


# Why a value nested ~1,000 levels deep is refused (an event is a flat object; deeper nesting is
# only possible in ignored extra fields, and the parser cannot follow it).
NESTED_TOO_DEEPLY = "nested too deeply to parse (about 1,000 levels or more; an event is a flat object)"

_incoming_decoder = msgspec.json.Decoder(IncomingEvent)
_event_decoder = msgspec.json.Decoder(Event)
# Decimals as JSON numbers, like the API's input; decoding them into ``Decimal`` is exact.
_encoder = msgspec.json.Encoder(decimal_format="number")


def _check_rules(incoming: IncomingEvent, ts_ms: int, now_ms: int) -> None:
    """Rules a schema cannot say: cross-field constraints and the accepted time window."""
    if ts_ms < MIN_TS_MS:
        raise EventError("`ts` is before 2000-01-01 - at `$.ts`", "ts_too_old")
    if ts_ms > now_ms + MAX_FUTURE_MS:
        raise EventError("`ts` is more than 5 minutes ahead of the server clock - at `$.ts`", "ts_in_future")
    if isinstance(incoming, (Follow, Unfollow)) and incoming.actor == incoming.target:
        raise EventError("`target` must differ from `actor` (an account cannot follow itself) - at `$.target`",
                         "self_follow")
    if isinstance(incoming, Reply) and incoming.parent_id == incoming.post_id:
        raise EventError("`parent_id` must differ from `post_id` (a reply cannot answer itself) - at `$.parent_id`",
                         "self_reply")


def _check_currency(given: str | None, currency: str) -> None:
    # Codes are compared case-insensitively: some payment APIs (Stripe) write them in lower case.
    if given is not None and given.upper() != currency.upper():
        raise EventError(f"`currency` differs from this deployment's currency {currency.upper()} "
                         "(one currency per deployment, RICHNESS_CURRENCY) - at `$.currency`", "foreign_currency")


_JSON_KINDS = {ord('"'): "str", ord("t"): "bool", ord("f"): "bool", ord("n"): "null", ord("{"): "object",
               ord("["): "array"}


def _money(raw: msgspec.Raw, *, refund: bool) -> Decimal | None:
    """The exact amount of a ``value`` (None: a refund of the rest of the order), in canonical form."""
    text = bytes(raw)
    kind = _JSON_KINDS.get(text[0])
    if kind == "null" and refund:
        return None
    if kind is not None:  # anything but a JSON number (the decoder has checked the JSON itself)
        raise EventError(f"Expected `number`, got `{kind}` - at `$.value`", "wrong_type")
    amount = Decimal(text.decode())  # the number's own digits: never through a float
    if amount < 0:
        raise EventError("`value` must not be negative - at `$.value`", "negative_value")
    if refund and amount == 0:
        raise EventError("`value` of a refund must be greater than 0 (omit it to refund the rest of the order)"
                         " - at `$.value`", "zero_refund")
    if amount > MAX_MONEY:
        raise EventError(f"`value` is too large: money is stored as Decimal(18, {MONEY_DECIMALS}), "
                         f"at most {MAX_MONEY} - at `$.value`", "value_too_large")
    canonical = amount.quantize(MONEY_QUANTUM)
    if canonical != amount:
        raise EventError(f"`value` has more than {MONEY_DECIMALS} decimal places - at `$.value`", "too_many_decimals")
    return canonical.copy_abs()  # -0 is 0


def from_incoming(incoming: IncomingEvent, received_at_ms: int, currency: str = DEFAULT_CURRENCY) -> Event:
    ts_ms = ts_to_ms(incoming.ts)
    _check_rules(incoming, ts_ms, received_at_ms)
    fields = {f: getattr(incoming, f) for f in incoming.__struct_fields__ if f not in ("id", "ts")}
    if isinstance(incoming, (Conversion, Refund)):
        _check_currency(fields.pop("currency"), currency)  # one currency per deployment: not stored
        value = fields.pop("value")
        if value is not msgspec.UNSET:
            fields["value"] = _money(value, refund=isinstance(incoming, Refund))
    return Event(id=incoming.id, type=type(incoming).__struct_config__.tag, ts=ts_ms,
                 received_at=received_at_ms, **fields)


def parse_event(raw: bytes | str, received_at_ms: int | None = None, currency: str = DEFAULT_CURRENCY) -> Event:
    """Validate one JSON-encoded event. Raises ``EventError`` with a human-readable reason.

    ``currency``: the deployment's currency (``Settings.currency``); money in another is refused."""
    now = received_at_ms if received_at_ms is not None else now_ms()
    try:
        incoming = _incoming_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise EventError(_explain(str(exc)), _validation_reason(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise EventError(f"not valid JSON: {exc}", "malformed_json") from None
    except UnicodeDecodeError:
        raise EventError("not valid JSON: invalid UTF-8 in a string", "malformed_json") from None
    except RecursionError:  # msgspec's parser stops at Python's recursion limit (~1,000 levels)
        raise EventError(f"JSON {NESTED_TOO_DEEPLY}", "too_deep") from None
    return from_incoming(incoming, now, currency)


_TYPE_LIST = ", ".join(EVENT_TYPES)


def _explain(message: str) -> str:
    # msgspec's messages are precise already; say what the tag means in the contract's words.
    if "Object missing required field `type`" in message:
        return f"missing required field `type` (one of {_TYPE_LIST})"
    if message.startswith("Invalid value") and "`$.type`" in message:
        return message.replace("Invalid value", "unknown event type") + f" (expected one of {_TYPE_LIST})"
    return message


def _validation_reason(message: str) -> str:
    """The rule a msgspec validation message reports (msgspec gives no codes, only its wording)."""
    if message.startswith("Object missing required field"):
        return "missing_field"
    if message.startswith("Invalid value") and "`$.type`" in message:
        return "unknown_type"
    if "of length" in message:
        return "bad_length"
    if message.startswith("Invalid RFC3339"):
        return "ts_malformed"
    if message.startswith("Expected `object`") and " - at `$" not in message:
        return "not_an_object"
    if message.startswith("Expected `"):
        return "wrong_type"
    return "invalid"


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(raw: bytes) -> Event:
    return _event_decoder.decode(raw)


def now_ms() -> int:
    return time.time_ns() // 1_000_000
