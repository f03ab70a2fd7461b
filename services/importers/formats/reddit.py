"""Reddit: a ``/comments/{article}.json`` response (the two-listing array, replies nested), a
flat listing of ``t1``/``t3`` things, or Pushshift-style dumps (one comment or submission a line).

``t3`` → ``post`` with ``post_id`` = its fullname ``t3_…``; ``t1`` → ``reply`` with ``post_id`` =
its fullname ``t1_…``, ``parent_id`` = ``parent_id``, ``root_id`` = ``link_id`` (Reddit names the
root, so nothing needs walking), ``actor`` = ``author`` (``[deleted]`` authors kept as such),
``ts`` = ``created_utc``. Unexpanded "load more comments" placeholders are reported: their
comments are not in the file.
"""
from __future__ import annotations

from typing import Any

import msgspec

from services.importers.ids import event_id
from services.importers.mapping import Outcome, Skip, Unmappable, post, reply, seconds_to_ms

PLATFORM = "reddit"


class Submission(msgspec.Struct):
    id: str
    author: str
    created_utc: float | str
    name: str | None = None  # the fullname; Pushshift dumps leave it out


class Comment(msgspec.Struct):
    id: str
    author: str
    created_utc: float | str
    parent_id: str
    link_id: str
    name: str | None = None
    replies: Any = None  # a Listing of the replies, or "" when there are none


class More(msgspec.Struct):
    count: int = 0
    parent_id: str | None = None


def map_value(value: Any) -> Outcome:
    """Any Reddit JSON value: a listing, a thing, a list of them, or a Pushshift object."""
    if isinstance(value, list):
        outcome = Outcome()
        for element in value:
            outcome.extend(map_value(element))
        return outcome
    if not isinstance(value, dict):
        raise Unmappable("expected a Reddit listing, thing or Pushshift object")
    kind = value.get("kind")
    if kind == "Listing":
        return map_listing(value)
    if kind is not None:
        return map_thing(kind, value.get("data"))
    # Pushshift: the thing's fields without the kind/data envelope.
    return map_thing("t1" if "link_id" in value else "t3", value)


def map_listing(listing: dict[str, Any]) -> Outcome:
    data = listing.get("data")
    children = data.get("children") if isinstance(data, dict) else None
    if not isinstance(children, list):
        raise Unmappable("a Reddit listing without data.children")
    outcome = Outcome()
    for child in children:
        outcome.extend(map_value(child))
    return outcome


def map_thing(kind: str, data: Any) -> Outcome:
    if not isinstance(data, dict):
        raise Unmappable(f"a Reddit {kind} thing without data")
    if kind == "t3":
        submission = _convert(data, Submission)
        fullname = submission.name or f"t3_{submission.id}"
        return Outcome(events=[post(event_id(PLATFORM, fullname), seconds_to_ms(submission.created_utc),
                                    submission.author, fullname)])
    if kind == "t1":
        comment = _convert(data, Comment)
        fullname = comment.name or f"t1_{comment.id}"
        outcome = Outcome(events=[reply(event_id(PLATFORM, fullname), seconds_to_ms(comment.created_utc),
                                        comment.author, fullname, comment.parent_id, comment.link_id)])
        if isinstance(comment.replies, dict):
            outcome.extend(map_value(comment.replies))
        return outcome
    if kind == "more":
        more = _convert(data, More)
        return Outcome(skips=[Skip(
            "reddit_more", "'load more comments' placeholder: those comments are not in the file "
            "(fetch the thread with a larger ?limit=, or the placeholder's comments with /api/morechildren)",
            f"{more.count} under {more.parent_id}")])
    return Outcome(skips=[Skip("reddit_other_kind", "a Reddit thing that is neither a post (t3) nor a comment (t1)",
                               kind)])


def _convert(data: dict[str, Any], shape: type) -> Any:
    try:
        return msgspec.convert(data, shape)
    except msgspec.ValidationError as exc:
        raise Unmappable(f"Reddit {shape.__name__.lower()}: {exc}", _id_of(data)) from None


def _id_of(data: dict[str, Any]) -> str | None:
    name = data.get("name") or data.get("id")
    return name if isinstance(name, str) else None
