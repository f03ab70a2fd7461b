"""Telling a file's format from its first bytes, when that is unambiguous.

Looks at the first JSON object of the file (the first line of NDJSON, the document, or the first
element of a top-level array) and the platforms' telltale fields; a CSV by its header. Anything
without a platform's signature is the contract's NDJSON/CSV, the default.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import ijson

HEAD_BYTES = 256 * 1024
CONTRACT_TYPES = {"follow", "unfollow", "post", "reply", "click", "share", "like", "conversion", "refund"}
HN_TYPES = {"story", "comment", "poll", "job", "pollopt"}
REDDIT_KINDS = {"Listing", "t1", "t3", "more"}


class Ambiguous(ValueError):
    pass


def strip_head(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()


def detect(path: Path, head: bytes) -> str:
    text = strip_head(head)
    if text.startswith(b"window.YTD."):
        return "x-archive"
    if path.suffix.lower() == ".csv" or not text.startswith((b"{", b"[")):
        header = text.split(b"\n", 1)[0].decode("utf-8", "replace")
        return "mastodon" if "Account address" in header else "contract"
    fields = first_object(text)
    matches = [name for name, test in _SIGNATURES if test(fields)]
    if len(matches) > 1:
        raise Ambiguous(f"the file looks like {' and '.join(matches)}: give --format")
    return matches[0] if matches else "contract"


def first_object(text: bytes) -> dict[str, Any]:
    """Top-level fields of the first object (scalars with their values, others as None)."""
    base = "item" if text.startswith(b"[") else ""
    fields: dict[str, Any] = {}
    key = None
    try:
        for prefix, event, value in ijson.parse(io.BytesIO(text), multiple_values=True):
            if prefix == base and event == "map_key":
                key = value
                fields[key] = None
            elif key is not None and prefix == (f"{base}.{key}" if base else key) and event in (
                    "string", "number", "boolean", "null"):
                fields[key] = value
            elif prefix == base and event == "end_map":
                break
    except ijson.JSONError:
        pass  # the head ends mid-value: what was read is enough
    return fields


_SIGNATURES = (
    ("contract", lambda f: f.get("type") in CONTRACT_TYPES and "id" in f),
    ("bluesky", lambda f: {"did", "time_us", "kind"} <= f.keys()),
    ("reddit", lambda f: f.get("kind") in REDDIT_KINDS or {"link_id", "parent_id"} <= f.keys()
     or {"subreddit", "created_utc"} <= f.keys()),
    ("hackernews", lambda f: f.get("type") in HN_TYPES and "id" in f),
    ("mastodon", lambda f: ({"account", "created_at"} <= f.keys() and ("in_reply_to_id" in f or "reblog" in f))
     or {"ancestors", "descendants"} <= f.keys()),
)
