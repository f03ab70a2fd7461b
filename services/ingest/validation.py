"""Per-event validation of a request's elements against the contract (``shared.events``)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import msgspec

from shared.events import DEFAULT_CURRENCY, Event, EventError, parse_event
from shared.ingest_api import Rejection


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
    rejection_reasons: list[str] = field(default_factory=list)  # per rejection: shared.events.REJECTION_REASONS

    def reasons(self) -> Counter[str]:
        return Counter(self.rejection_reasons)


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
            result.rejection_reasons.append(exc.reason)
    return result
