"""Bluesky: Jetstream events (JSON, one a line — a recorded stream or the live WebSocket).

* ``app.bsky.feed.post`` created → ``post``, or ``reply`` when the record has ``reply.root`` and
  ``reply.parent`` (at-URIs are the post ids; Bluesky names the root, nothing needs walking);
* ``app.bsky.graph.follow`` created → ``follow`` (target = the record's ``subject`` DID); deleted →
  ``unfollow``: the delete names only the follow record's key, so its subject comes from the
  follows seen earlier (this stream, earlier imports, the connector: ``FollowMemory``); one never
  seen is reported, not guessed;
* ``app.bsky.feed.repost`` → ``share``, ``app.bsky.feed.like`` → ``like`` (target = the DID in the
  subject post's URI).

Actors are DIDs. An event's time is the record's ``createdAt``, unless that is missing, invalid
or later than the stream saw the record (clients set it freely): then the stream's ``time_us``,
and the summary counts it. An unfollow has no record left: its time is ``time_us``.
"""
from __future__ import annotations

from typing import Any, Protocol

import msgspec

from services.importers.ids import event_id
from services.importers.mapping import (Note, Outcome, Skip, Unmappable, follow, like, post, reply,
                                        rfc3339_to_ms, share, unfollow)

PLATFORM = "bsky"
POST, FOLLOW, LIKE, REPOST = "app.bsky.feed.post", "app.bsky.graph.follow", "app.bsky.feed.like", "app.bsky.feed.repost"
COLLECTIONS = (POST, FOLLOW, LIKE, REPOST)  # what the connector asks Jetstream for


class FollowMemory(Protocol):
    """Follow records seen so far: (author DID, record key) → the followed DID."""

    def remember(self, did: str, rkey: str, subject: str) -> None: ...

    def recall(self, did: str, rkey: str) -> str | None: ...


class Commit(msgspec.Struct):
    operation: str
    collection: str
    rkey: str
    record: dict[str, Any] | None = None


class Message(msgspec.Struct):
    did: str
    time_us: int
    kind: str
    commit: Commit | None = None


_decoder = msgspec.json.Decoder(Message)


def decode(raw: bytes | str) -> Message:
    try:
        return _decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise Unmappable(f"Jetstream event: {exc}") from None


def at_uri(did: str, collection: str, rkey: str) -> str:
    return f"at://{did}/{collection}/{rkey}"


def map_message(message: Message, follows: FollowMemory) -> Outcome:
    commit = message.commit
    if message.kind != "commit" or commit is None:
        return Outcome(skips=[Skip("bsky_not_a_commit", "identity or account event (handle change, account "
                                   "deactivated or deleted): no social event", message.kind)])
    uri = at_uri(message.did, commit.collection, commit.rkey)
    if commit.collection not in COLLECTIONS:
        return Outcome(skips=[Skip("bsky_other_record", "a record Richness does not measure (profile, block, "
                                   "list, …)", commit.collection)])
    if commit.operation == "delete":
        return _map_delete(message, commit, uri, follows)
    if commit.operation != "create":
        return Outcome(skips=[Skip("bsky_update", "a record update (edit): only creations and follow deletions "
                                   "are events", uri)])
    record = commit.record
    if not isinstance(record, dict):
        raise Unmappable("Jetstream create without a record", uri)
    ts, notes = _time(record, message.time_us)
    own = event_id(PLATFORM, uri)
    if commit.collection == POST:
        refs = record.get("reply")
        if refs is None:
            return Outcome(events=[post(own, ts, message.did, uri)], notes=notes)
        root, parent = _ref_uri(refs, "root", uri), _ref_uri(refs, "parent", uri)
        return Outcome(events=[reply(own, ts, message.did, uri, parent, root)], notes=notes)
    if commit.collection == FOLLOW:
        subject = record.get("subject")
        if not isinstance(subject, str):
            raise Unmappable("follow record without a `subject` DID", uri)
        follows.remember(message.did, commit.rkey, subject)
        return Outcome(events=[follow(own, ts, message.did, subject)], notes=notes)
    subject = record.get("subject")
    subject_uri = subject.get("uri") if isinstance(subject, dict) else None
    if not isinstance(subject_uri, str):
        raise Unmappable("like or repost without a `subject.uri`", uri)
    author, _, rest = subject_uri.removeprefix("at://").partition("/")
    if not subject_uri.startswith("at://") or not rest.startswith(POST + "/"):
        return Outcome(skips=[Skip("bsky_not_a_post", "like or repost of something other than a post (a feed, "
                                   "a list)", subject_uri)])
    make = like if commit.collection == LIKE else share
    return Outcome(events=[make(own, ts, message.did, author, subject_uri)], notes=notes)


def _map_delete(message: Message, commit: Commit, uri: str, follows: FollowMemory) -> Outcome:
    if commit.collection != FOLLOW:
        return Outcome(skips=[Skip("bsky_undo", "a deleted post, like or repost: the contract has no event for "
                                   "taking them back", uri)])
    subject = follows.recall(message.did, commit.rkey)
    if subject is None:
        return Outcome(skips=[Skip("bsky_unfollow_unknown", "unfollow of a follow never seen (not in this stream "
                                   "nor in earlier imports): whom they unfollowed is unknown", uri)])
    return Outcome(events=[unfollow(event_id(PLATFORM, uri, "unfollow"), message.time_us // 1000,
                                    message.did, subject)])


def _ref_uri(refs: Any, which: str, uri: str) -> str:
    ref = refs.get(which) if isinstance(refs, dict) else None
    value = ref.get("uri") if isinstance(ref, dict) else None
    if not isinstance(value, str):
        raise Unmappable(f"reply without `reply.{which}.uri`", uri)
    return value


def _time(record: dict[str, Any], time_us: int) -> tuple[int, list[Note]]:
    seen = time_us // 1000
    created = record.get("createdAt")
    try:
        claimed = rfc3339_to_ms(created) if isinstance(created, str) else None
    except Unmappable:
        claimed = None
    if claimed is None:
        return seen, [Note("bsky_no_created_at", "record without a valid createdAt: the stream's time is used")]
    if claimed > seen:
        return seen, [Note("bsky_created_after_seen", "createdAt later than the stream saw the record: the "
                           "stream's time is used")]
    return claimed, []
