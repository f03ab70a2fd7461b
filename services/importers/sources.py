"""Putting a format together: which reader for the file's layout, which mapping, which state.

This is the I/O side of each format (files, SQLite); the mappings in ``formats/`` stay pure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Callable, Iterable

import msgspec

from services.importers import detect as detection
from services.importers.bluesky_state import BlueskyState
from services.importers.formats import bluesky, contract, hackernews, mastodon, reddit, x_archive
from services.importers.mapping import Outcome, Unmappable, datetime_to_ms
from services.importers.reading import CsvReader, JsonArrayReader, JsonItemsReader, LineReader, Reader
from services.importers.threads import ThreadIndex

FORMATS = ("contract", "reddit", "hackernews", "bluesky", "mastodon", "x-archive")
_X_PREFIX = re.compile(rb"window\.YTD\.(\w+)\.part\d+\s*=\s*")


@dataclass(frozen=True)
class ImportOptions:
    as_of: datetime | None = None  # the time of follow lists that have none (Mastodon CSV, X archive)
    actor: str | None = None  # whose export it is, where the file does not say
    state_dir: Path | None = None  # thread indexes and Bluesky follows, kept across imports (default: next to the file)

    def key(self) -> dict[str, Any]:
        """What changes the mapping: a checkpoint is only valid for the same values."""
        return {"as_of": datetime_to_ms(self.as_of) if self.as_of else None, "actor": self.actor}


@dataclass
class Source:
    format: str
    reader: Reader
    map: Callable[[Any], Outcome]  # one record's value → events; raises Unmappable
    options_key: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    index: ThreadIndex | None = None  # for formats whose replies name only their parent
    index_links: Callable[[Any], Iterable[tuple[str, str | None]]] | None = None
    commit: Callable[[], None] = lambda: None  # make mapping state durable (before a checkpoint)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self.closers:
            close()


def open_source(file: IO[bytes], path: Path, format: str | None, options: ImportOptions) -> Source:
    head = file.read(detection.HEAD_BYTES)
    file.seek(0)
    name = format or detection.detect(path, head)
    if name not in _BUILDERS:
        raise ValueError(f"unknown format {name!r}: one of {', '.join(FORMATS)}")
    source = _BUILDERS[name](file, path, detection.strip_head(head), options)
    source.options_key = options.key()
    return source


def _state_dir(path: Path, options: ImportOptions) -> Path:
    return options.state_dir or path.parent


def _layout(head: bytes) -> str:
    """'array', 'object' (one JSON document) or 'ndjson' (one JSON value a line)."""
    if head.startswith(b"["):
        return "array"
    first_line = head.split(b"\n", 1)[0]
    try:
        msgspec.json.decode(first_line)
    except msgspec.DecodeError:
        return "object"
    return "ndjson"


def _json(raw: bytes) -> Any:
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise Unmappable(f"not valid JSON: {exc}") from None


def _as_of_ms(options: ImportOptions, what: str) -> int:
    if options.as_of is None:
        raise ValueError(f"{what} has no follow times: give --as-of (when the list was exported); the follow "
                         "events carry that time, not the real follow times")
    return datetime_to_ms(options.as_of)


def _as_of_warning(options: ImportOptions) -> str:
    return (f"follow events carry the --as-of time {options.as_of.isoformat()}, not the real follow times (the "
            "file has none): followers are right from then on; follows gained, churn and `since` before it are not")


# --- one builder per format ---------------------------------------------------------------------

def _contract(file: IO[bytes], path: Path, head: bytes, options: ImportOptions) -> Source:
    if path.suffix.lower() == ".csv" or not head.startswith(b"{"):
        reader = CsvReader(file)
        if "type" not in reader.header:
            raise ValueError("a CSV file needs a header row naming the contract fields (id,type,ts,...)")
        return Source("contract", reader, contract.map_csv_row)
    return Source("contract", LineReader(file), contract.map_line)


def _reddit(file: IO[bytes], path: Path, head: bytes, options: ImportOptions) -> Source:
    layout = _layout(head)
    if layout == "ndjson":
        return Source("reddit", LineReader(file), lambda raw: reddit.map_value(_json(raw)))
    # Stream the document thing by thing: a comments page's top-level things (a comment with its
    # nested replies is one), or a listing's children.
    path_of_things = "item.data.children.item" if layout == "array" else "data.children.item"
    return Source("reddit", JsonItemsReader(file, path_of_things, _offset(file)), reddit.map_value)


def _threaded(name: str, file: IO[bytes], path: Path, head: bytes, options: ImportOptions,
              values: Callable[[Any], list[Any]], links: Callable[[Any], Iterable[tuple[str, str | None]]],
              map_one: Callable[[Any, Any], Outcome], reader: Reader | None = None) -> Source:
    """A format whose replies name only their parent: a thread index for the roots."""
    index = ThreadIndex(_state_dir(path, options) / f"richness-{name}-threads.sqlite")
    if reader is None:
        layout = _layout(head)
        if layout == "ndjson":
            reader = LineReader(file)
        elif layout == "array":
            reader = JsonArrayReader(file, _offset(file))
        else:  # one object: one item
            reader = JsonItemsReader(file, "", _offset(file))

    def map_value(value: Any) -> Outcome:
        outcome = Outcome()
        for one in values(value):
            outcome.extend(map_one(one, index.root_of))
        return outcome

    def all_links(value: Any) -> Iterable[tuple[str, str | None]]:
        return [link for one in values(value) for link in links(one)]

    return Source(name, reader, map_value, index=index, index_links=all_links, closers=[index.close])


def _hackernews(file: IO[bytes], path: Path, head: bytes, options: ImportOptions) -> Source:
    return _threaded("hackernews", file, path, head, options, lambda value: [hackernews.decode(value)],
                     hackernews.links, hackernews.map_item)


def _mastodon(file: IO[bytes], path: Path, head: bytes, options: ImportOptions) -> Source:
    if path.suffix.lower() == ".csv" or not head.startswith((b"{", b"[")):
        reader = CsvReader(file)
        if mastodon.ADDRESS_COLUMN not in reader.header:
            raise ValueError(f"a Mastodon CSV is following_accounts.csv, with an `{mastodon.ADDRESS_COLUMN}` column")
        if not options.actor:
            raise ValueError("following_accounts.csv does not say whose follows these are: give --actor "
                             "user@server (the account that exported it)")
        as_of = _as_of_ms(options, "following_accounts.csv")
        actor = options.actor.removeprefix("@")
        return Source("mastodon", reader, lambda row: mastodon.map_following_row(row, actor, as_of),
                      warnings=[_as_of_warning(options)])
    return _threaded("mastodon", file, path, head, options, mastodon.statuses, mastodon.links, mastodon.map_status)


def _bluesky(file: IO[bytes], path: Path, head: bytes, options: ImportOptions) -> Source:
    if _layout(head) != "ndjson":
        raise ValueError("Jetstream events are NDJSON: one event a line")
    state = BlueskyState(_state_dir(path, options) / "bluesky.sqlite")
    return Source("bluesky", LineReader(file), lambda raw: bluesky.map_message(bluesky.decode(raw), state),
                  commit=state.commit, closers=[state.close])


def _x_archive(file: IO[bytes], path: Path, head: bytes, options: ImportOptions) -> Source:
    match = _X_PREFIX.match(head)
    if not match:
        raise ValueError("an X archive file starts with `window.YTD.<name>.part<N> =` (data/tweets.js, "
                         "data/follower.js, data/following.js)")
    kind = match.group(1).decode()
    owner, owner_warning = _x_owner(path, options)
    reader = JsonArrayReader(file, _offset(file) + match.end())
    if kind in x_archive.FOLLOW_FILES:
        as_of = _as_of_ms(options, f"{path.name}")
        return Source("x-archive", reader, lambda value: x_archive.map_follow_entry(value, kind, owner, as_of),
                      warnings=[owner_warning, _as_of_warning(options)])
    if kind not in x_archive.TWEET_FILES:
        raise ValueError(f"{path.name} ({kind}) holds nothing Richness imports: use tweets.js, deleted-tweets.js, "
                         "follower.js or following.js")
    source = _threaded("x-archive", file, path, head, options, lambda value: [x_archive.tweet(value)],
                       x_archive.links, lambda tweet, root_of: x_archive.map_tweet(tweet, owner, root_of), reader)
    source.warnings = [owner_warning]
    return source


def _x_owner(path: Path, options: ImportOptions) -> tuple[str, str]:
    """The archive's owner: --actor, or ``account.js`` next to the file."""
    if options.actor:
        return options.actor, f"the archive's tweets are by account {options.actor} (--actor)"
    account_file = path.with_name("account.js")
    try:
        text = account_file.read_bytes()
        match = _X_PREFIX.match(detection.strip_head(text))
        account = msgspec.json.decode(detection.strip_head(text)[match.end():])[0]["account"]
        owner = account["accountId"]
    except (OSError, AttributeError, msgspec.DecodeError, LookupError, TypeError):
        raise ValueError(f"cannot tell whose archive this is: no readable {account_file} (the archive's "
                         "data/account.js); give --actor with the owner's X account id") from None
    return owner, f"the archive's tweets are by account {owner} (@{account.get('username', '?')}, from account.js)"


def _offset(file: IO[bytes]) -> int:
    """Bytes before the JSON document (a UTF-8 byte order mark, leading blanks)."""
    file.seek(0)
    head = file.read(4096)
    file.seek(0)
    return len(head) - len(detection.strip_head(head)) if detection.strip_head(head) else 0


_BUILDERS: dict[str, Callable[[IO[bytes], Path, bytes, ImportOptions], Source]] = {
    "contract": _contract, "reddit": _reddit, "hackernews": _hackernews, "bluesky": _bluesky,
    "mastodon": _mastodon, "x-archive": _x_archive,
}
