"""Per-event validation of a request's elements against the contract (``shared.events``)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import msgspec

from shared.events import DEFAULT_CURRENCY, Event, EventError, parse_event
from shared.ingest_api import Rejection


# Metric labels for rejections: a small fixed set derived from the reason's wording (the message
# itself may quote client data, so it never becomes a label). First match wins; the one message
# that quotes client data (the unknown type's value) is matched first, so its data decides nothing.
_REASON_RULES: tuple[tuple[str, str], ...] = (
    ("unknown event type", "unknown_type"),
    ("differs from this deployment's currency", "foreign_currency"),
    ("not valid JSON", "malformed_json"),
    ("nested too deeply", "too_deep"),
    ("missing required field", "missing_field"),
    ("of length", "bad_length"),
    ("must carry a UTC offset", "ts_without_offset"),
    ("before 2000-01-01", "ts_too_old"),
    ("ahead of the server clock", "ts_in_future"),
    ("Invalid RFC3339", "ts_malformed"),
    ("cannot follow itself", "self_follow"),
    ("cannot answer itself", "self_reply"),
    ("`value` must not be negative", "negative_value"),
    ("`value` of a refund must be greater than 0", "zero_refund"),
    ("`value` is too large", "value_too_large"),
    ("`value` has more than", "too_many_decimals"),
)
REJECTION_REASONS: tuple[str, ...] = (*(label for _, label in _REASON_RULES), "not_an_object", "wrong_type", "invalid")


def rejection_reason(error: str) -> str:
    for fragment, label in _REASON_RULES:
        if fragment in error:
            return label
    if error.startswith("Expected `object`") and " - at `$" not in error:
        return "not_an_object"
    if error.startswith("Expected `"):
        return "wrong_type"
    return "invalid"


class _IdProbe(msgspec.Struct):
    id: Any = None


_id_probe = msgspec.json.Decoder(_IdProbe)


def _string_id(raw: Any) -> str | None:
    """The element's ``id`` if it is an object with a string id (only for rejected elements)."""
    try:
        value = _id_probe.decode(raw).id
    except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, str) else None


@dataclass
class Validated:
    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def reasons(self) -> Counter[str]:
        return Counter(rejection_reason(r.error) for r in self.rejections)


def validate(elements: Sequence[Any], received_at_ms: int, currency: str = DEFAULT_CURRENCY) -> Validated:
    """Validate each JSON-encoded element (bytes or ``msgspec.Raw``) independently; money in a
    ``currency`` other than the deployment's is refused.

    Duplicate ids within a request are kept: the pipeline deduplicates by id downstream.
    """
    result = Validated()
    accept = result.events.append
    for index, raw in enumerate(elements):
        try:
            accept(parse_event(raw, received_at_ms, currency))
        except EventError as exc:
            result.rejections.append(Rejection(index, _string_id(raw), str(exc)))
    return result
