"""X (Twitter) archive: ``data/tweets.js`` (and ``deleted-tweets.js``), ``data/follower.js``,
``data/following.js`` — JavaScript files of the form ``window.YTD.tweets.part0 = [ … ]``.

The archive's tweets are its owner's; the owner is ``data/account.js``'s ``accountId`` (or
``--actor``). Accounts are X account ids: the follower files name accounts only by id.

* a tweet with ``in_reply_to_status_id_str`` → ``reply``; X archives carry no conversation id,
  so the root is found by walking replies through the tweets imported (``threads``): a reply to
  someone else's tweet that is not in the archive has no known root and is reported;
* ``RT @name: …`` → ``share`` of that account (its id from the tweet's mentions). The archive
  does not say which tweet was retweeted: the share's ``post_id`` is ``x:rt:{the retweet's id}``;
* other tweets → ``post``;
* follower/following entries → ``follow`` events at the ``--as-of`` time (no follow times in the
  archive, so those events do not carry real ones).
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Iterable

import msgspec

from services.importers.ids import event_id
from services.importers.mapping import (Note, Outcome, RootOf, Skip, Unmappable, Unrooted, datetime_to_ms, follow,
                                        post, reply, share, unrooted_skip)

PLATFORM = "x"
TWEET_FILES = ("tweets", "deleted_tweets", "community_tweet")
FOLLOW_FILES = ("follower", "following")
_TIME = "%a %b %d %H:%M:%S %z %Y"  # Sat Feb 18 12:33:11 +0000 2023


class Mention(msgspec.Struct):
    screen_name: str
    id_str: str | None = None


class Entities(msgspec.Struct):
    user_mentions: list[Mention] = []


class Tweet(msgspec.Struct):
    id_str: str
    created_at: str
    full_text: str = ""
    in_reply_to_status_id_str: str | None = None
    entities: Entities = msgspec.field(default_factory=Entities)


def post_id(tweet_id: str) -> str:
    return f"{PLATFORM}:{tweet_id}"


def tweet(value: Any) -> Tweet:
    """The tweet of one ``tweets.js`` entry (``{"tweet": {…}}``)."""
    inner = value.get("tweet") if isinstance(value, dict) else None
    try:
        return msgspec.convert(inner, Tweet)
    except msgspec.ValidationError as exc:
        raise Unmappable(f"X archive tweet: {exc}") from None


def links(entry: Tweet) -> Iterable[tuple[str, str | None]]:
    if _retweeted_name(entry) is not None:
        return []  # a retweet is no post anyone replies to
    return [(post_id(entry.id_str),
             post_id(entry.in_reply_to_status_id_str) if entry.in_reply_to_status_id_str else None)]


def map_tweet(entry: Tweet, owner: str, root_of: RootOf) -> Outcome:
    ts = tweet_time_ms(entry.created_at, post_id(entry.id_str))
    own, eid = post_id(entry.id_str), event_id(PLATFORM, entry.id_str)
    name = _retweeted_name(entry)
    if name is not None:
        author = next((m.id_str for m in entry.entities.user_mentions
                       if m.screen_name.lower() == name.lower() and m.id_str not in (None, "", "-1")), None)
        if author is None:
            return Outcome(skips=[Skip("x_retweet_author_unknown", "retweet whose author is not among the tweet's "
                                       "mentions (a deleted or suspended account)", own)])
        return Outcome(events=[share(eid, ts, owner, author, f"{PLATFORM}:rt:{entry.id_str}")],
                       notes=[Note("x_retweet_post", "retweet: the archive does not say which tweet it shared, "
                                   "so post_id is x:rt:<the retweet's id>")])
    if entry.in_reply_to_status_id_str is None:
        return Outcome(events=[post(eid, ts, owner, own)])
    root = root_of(own)
    if isinstance(root, Unrooted):
        return Outcome(skips=[unrooted_skip(own, root)])
    return Outcome(events=[reply(eid, ts, owner, own, post_id(entry.in_reply_to_status_id_str), root)])


def map_follow_entry(value: Any, kind: str, owner: str, as_of_ms: int) -> Outcome:
    """One ``follower.js`` (someone follows the owner) or ``following.js`` (the owner follows
    someone) entry."""
    inner = value.get(kind) if isinstance(value, dict) else None
    other = inner.get("accountId") if isinstance(inner, dict) else None
    if not isinstance(other, str) or not other:
        raise Unmappable(f"{kind} entry without an accountId")
    actor, target = (other, owner) if kind == "follower" else (owner, other)
    return Outcome(events=[follow(event_id(PLATFORM, "follow", actor, target, str(as_of_ms)), as_of_ms, actor,
                                  target)])


_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


def tweet_time_ms(text: str, own: str | None = None) -> int:
    """``Sat Feb 18 12:33:11 +0000 2023`` to epoch ms (archives write UTC; strptime is the slow
    general case, for any other offset)."""
    parts = text.split(" ")
    try:
        if len(parts) == 6 and parts[4] == "+0000":
            hours, minutes, seconds = map(int, parts[3].split(":"))
            if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 60):
                raise ValueError
            return _midnight_ms(parts[5], parts[1], parts[2]) + ((hours * 60 + minutes) * 60 + seconds) * 1000
        return datetime_to_ms(datetime.strptime(text, _TIME))
    except (ValueError, KeyError):
        raise Unmappable(f"tweet time {text!r} is not like 'Sat Feb 18 12:33:11 +0000 2023'", own) from None


@lru_cache(maxsize=4096)
def _midnight_ms(year: str, month: str, day: str) -> int:
    """A day's start in epoch ms: an archive's tweets fall on few days compared with their count."""
    return datetime_to_ms(datetime(int(year), _MONTHS[month], int(day), tzinfo=timezone.utc))


def _retweeted_name(entry: Tweet) -> str | None:
    if not entry.full_text.startswith("RT @"):
        return None
    return entry.full_text[4:].split(":", 1)[0].strip()
