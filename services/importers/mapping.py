"""What a platform mapping gives back for one input record, and the contract's event shapes.

A mapping is pure: one platform object in, contract events out, plus what it could not import
and why (``Skip``) and what it had to derive (``Note``). Nothing is guessed silently: every
item that yields no event says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable


class Unmappable(ValueError):
    """The record is not a valid object of its format (a missing or mistyped field)."""

    def __init__(self, message: str, id: str | None = None) -> None:
        super().__init__(message)
        self.id = id


@dataclass(frozen=True)
class Skip:
    """Something in the input that yields no event. ``code`` is a stable label (metrics,
    tallies); ``reason`` says it to a person and never quotes input data."""

    code: str
    reason: str
    detail: str | None = None  # e.g. the id that could not be resolved, shown with the first ones


@dataclass(frozen=True)
class Note:
    """An event imported with a derived value (e.g. a time taken from the stream)."""

    code: str
    reason: str


@dataclass
class Outcome:
    events: list[dict[str, Any] | bytes] = field(default_factory=list)  # bytes: JSON already
    skips: list[Skip] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def extend(self, other: Outcome) -> Outcome:
        self.events += other.events
        self.skips += other.skips
        self.notes += other.notes
        return self


@dataclass(frozen=True)
class Unrooted:
    """Why a reply has no known root: the first ancestor missing from the posts imported
    (None: its parents form a cycle)."""

    missing: str | None


RootOf = Callable[[str], "str | Unrooted"]  # a post's conversation root, found by walking parents


def unrooted_skip(own: str, why: Unrooted) -> Skip:
    detail = f"{own}: no post {why.missing}" if why.missing else f"{own}: its parents form a cycle"
    return Skip("root_unknown", "reply whose conversation root is unknown: an ancestor is not among the posts "
                "imported (import it, then this file again)", detail)


def _event(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def post(id: str, ts: int, actor: str, post_id: str, url: str | None = None) -> dict[str, Any]:
    return _event(id=id, type="post", ts=ts, actor=actor, post_id=post_id, url=url)


def reply(id: str, ts: int, actor: str, post_id: str, parent_id: str, root_id: str) -> dict[str, Any]:
    return _event(id=id, type="reply", ts=ts, actor=actor, post_id=post_id, parent_id=parent_id, root_id=root_id)


def follow(id: str, ts: int, actor: str, target: str) -> dict[str, Any]:
    return _event(id=id, type="follow", ts=ts, actor=actor, target=target)


def unfollow(id: str, ts: int, actor: str, target: str) -> dict[str, Any]:
    return _event(id=id, type="unfollow", ts=ts, actor=actor, target=target)


def share(id: str, ts: int, actor: str, target: str, post_id: str, url: str | None = None) -> dict[str, Any]:
    return _event(id=id, type="share", ts=ts, actor=actor, target=target, post_id=post_id, url=url)


def like(id: str, ts: int, actor: str, target: str, post_id: str) -> dict[str, Any]:
    return _event(id=id, type="like", ts=ts, actor=actor, target=target, post_id=post_id)


# --- times --------------------------------------------------------------------------------------

def seconds_to_ms(seconds: float | int | str) -> int:
    """Epoch seconds (int, float or numeric string, as platforms write them) to epoch ms."""
    try:
        value = float(seconds) if isinstance(seconds, str) else seconds
    except ValueError:
        raise Unmappable(f"time {seconds!r} is not a number of seconds") from None
    return round(value * 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


def rfc3339_to_ms(text: str) -> int:
    """An ISO 8601 / RFC 3339 time with an offset (``Z`` included) to epoch ms."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise Unmappable(f"time {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise Unmappable(f"time {text!r} has no UTC offset")
    return (moment - _EPOCH) // _MS


def datetime_to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _MS
