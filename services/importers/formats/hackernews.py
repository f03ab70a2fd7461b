"""Hacker News: items of the official Firebase API (``/v0/item/{id}.json``), as a JSON array or
one item a line.

``story``/``poll`` → ``post`` (the story's ``url`` travels with it — the contract does not store a
post's url yet, so the API ignores it until it does); ``comment`` → ``reply`` to its
``parent``. An item names only its parent, so the root is found by walking parents through the
items imported (``threads``); a comment whose chain stops at an item never imported is reported,
not given a guessed root. Deleted items have no author: they become ``[deleted]``, as Hacker News
shows them, so the replies below them keep their place in the thread. Ids: ``hn:{id}``.
"""
from __future__ import annotations

from typing import Any, Iterable

import msgspec

from services.importers.ids import event_id
from services.importers.mapping import (Note, Outcome, RootOf, Skip, Unmappable, Unrooted, post, reply,
                                        seconds_to_ms, unrooted_skip)

PLATFORM = "hn"
DELETED = "[deleted]"


class Item(msgspec.Struct):
    id: int
    time: int | None = None
    type: str | None = None
    by: str | None = None
    parent: int | None = None
    deleted: bool = False
    url: str | None = None


def post_id(item_id: int) -> str:
    return f"{PLATFORM}:{item_id}"


def decode(value: Any) -> Item:
    try:
        if isinstance(value, (bytes, str)):
            return msgspec.json.decode(value, type=Item)
        return msgspec.convert(value, Item)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise Unmappable(f"Hacker News item: {exc}") from None


def links(item: Item) -> Iterable[tuple[str, str | None]]:
    """(item, parent) for the root-finding pass: stories and polls are roots."""
    if item.type == "comment" and item.parent is not None:
        return [(post_id(item.id), post_id(item.parent))]
    if item.type in ("story", "poll", "job"):
        return [(post_id(item.id), None)]
    return []


def map_item(item: Item, root_of: RootOf) -> Outcome:
    kind = item.type
    if kind is None:
        raise Unmappable("Hacker News item without `type`", post_id(item.id))
    if kind == "comment" and item.parent is None:
        raise Unmappable("Hacker News comment without `parent`", post_id(item.id))
    if kind not in ("story", "poll", "comment"):
        return Outcome(skips=[Skip("hn_not_a_conversation", "a job ad or poll option: not a post anyone replies to",
                                   f"{post_id(item.id)} ({kind})")])
    if item.time is None:
        raise Unmappable("Hacker News item without `time`", post_id(item.id))
    actor, notes = item.by, []
    if actor is None:
        if not item.deleted:
            raise Unmappable("Hacker News item without `by` (and not deleted)", post_id(item.id))
        actor, notes = DELETED, [Note("hn_deleted", "deleted item: its author is [deleted], as Hacker News shows it")]
    ts, own = seconds_to_ms(item.time), post_id(item.id)
    if kind != "comment":
        return Outcome(events=[post(event_id(PLATFORM, str(item.id)), ts, actor, own, url=item.url)], notes=notes)
    root = root_of(own)
    if isinstance(root, Unrooted):
        return Outcome(skips=[unrooted_skip(own, root)])
    return Outcome(events=[reply(event_id(PLATFORM, str(item.id)), ts, actor, own, post_id(item.parent), root)],
                   notes=notes)
