"""Mastodon: Status JSON (an account's statuses, ``/api/v1/statuses/{id}``, a ``/context``
response, one status a line) and the ``following_accounts.csv`` export.

* a status with ``in_reply_to_id`` → ``reply``; its root is found by walking ``in_reply_to_id``
  through the statuses imported (``threads``), a status whose chain stops at one never imported
  is reported; a status without it → ``post``;
* a status with ``reblog`` → ``share`` of the reblogged status (which is imported as well: it is
  in the file);
* ``following_accounts.csv`` → ``follow`` events by the exporting account (``--actor``) at the
  ``--as-of`` time: the CSV has no follow times, so those events do not carry real ones.

Ids are ``mastodon:{id}`` with the ids of the server that answered: import one server's files
into one deployment. Accounts are ``user@server``: a local account's ``acct`` has no server, it is
taken from the account's profile ``url``.
"""
from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import urlsplit

import msgspec

from services.importers.ids import event_id
from services.importers.mapping import (Outcome, RootOf, Unmappable, Unrooted, follow, post, reply,
                                        rfc3339_to_ms, share, unrooted_skip)

PLATFORM = "mastodon"
ADDRESS_COLUMN = "Account address"


class Account(msgspec.Struct):
    acct: str
    url: str | None = None


class Status(msgspec.Struct):
    id: str
    created_at: str
    account: Account
    in_reply_to_id: str | None = None
    reblog: "Status | None" = None


def post_id(status_id: str) -> str:
    return f"{PLATFORM}:{status_id}"


def statuses(value: Any) -> list[Status]:
    """The statuses in one JSON value: a status, a list of them, or a ``/context`` response."""
    if isinstance(value, (bytes, str)):
        try:
            value = msgspec.json.decode(value)
        except msgspec.DecodeError as exc:
            raise Unmappable(f"not valid JSON: {exc}") from None
    if isinstance(value, list):
        return [status for element in value for status in statuses(element)]
    if isinstance(value, dict) and ("ancestors" in value or "descendants" in value):
        return statuses(value.get("ancestors", [])) + statuses(value.get("descendants", []))
    try:
        return [msgspec.convert(value, Status)]
    except msgspec.ValidationError as exc:
        raise Unmappable(f"Mastodon status: {exc}", _id_of(value)) from None


def links(status: Status) -> Iterable[tuple[str, str | None]]:
    """(status, the status it answers) for the root-finding pass; a reblog is no post itself."""
    if status.reblog is not None:
        return links(status.reblog)
    return [(post_id(status.id), post_id(status.in_reply_to_id) if status.in_reply_to_id else None)]


def map_status(status: Status, root_of: RootOf) -> Outcome:
    ts = rfc3339_to_ms(status.created_at)
    actor = account_address(status.account)
    if status.reblog is not None:
        original = status.reblog
        outcome = Outcome(events=[share(event_id(PLATFORM, status.id), ts, actor, account_address(original.account),
                                        post_id(original.id))])
        return outcome.extend(map_status(original, root_of))
    own = post_id(status.id)
    if status.in_reply_to_id is None:
        return Outcome(events=[post(event_id(PLATFORM, status.id), ts, actor, own)])
    root = root_of(own)
    if isinstance(root, Unrooted):
        return Outcome(skips=[unrooted_skip(own, root)])
    return Outcome(events=[reply(event_id(PLATFORM, status.id), ts, actor, own, post_id(status.in_reply_to_id),
                                 root)])


def account_address(account: Account) -> str:
    if "@" in account.acct:
        return account.acct
    server = urlsplit(account.url or "").hostname
    if not server:
        raise Unmappable(f"local account {account.acct!r} without a profile url: its server is unknown")
    return f"{account.acct}@{server}"


def map_following_row(row: dict[str, str], actor: str, as_of_ms: int) -> Outcome:
    """One row of ``following_accounts.csv``: ``actor`` follows the row's account."""
    target = (row.get(ADDRESS_COLUMN) or "").strip().removeprefix("@")
    if not target:
        raise Unmappable(f"row without an `{ADDRESS_COLUMN}`")
    return Outcome(events=[follow(event_id(PLATFORM, "follow", actor, target, str(as_of_ms)), as_of_ms, actor,
                                  target)])


def _id_of(value: Any) -> str | None:
    found = value.get("id") if isinstance(value, dict) else None
    return post_id(found) if isinstance(found, str) else None
