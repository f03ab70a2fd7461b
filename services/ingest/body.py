"""Request bodies: the size limit (enforced before any parsing) and the framing into elements.

A body is one event object, a JSON array of events, or NDJSON. Elements stay undecoded
(``bytes`` / ``msgspec.Raw``) so that each one is validated, and rejected, on its own.
"""
from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.requests import Request

from shared.events import NESTED_TOO_DEEPLY

NDJSON_MEDIA_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                                "application/x-jsonlines"})

_array_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_syntax_check = msgspec.json.Decoder(msgspec.Raw)  # Raw: checks the JSON syntax, builds nothing
_leading_whitespace = re.compile(rb"[ \t\r\n]*")


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes; send smaller batches")


class BadBody(ValueError):
    """The body as a whole is unusable; the message is shown to the client."""


def is_ndjson(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type in NDJSON_MEDIA_TYPES


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, refused as soon as it is known to exceed ``limit``: from the declared
    Content-Length before reading anything, else while it streams in (chunked uploads)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)


def split_elements(body: bytes, *, ndjson: bool, max_events: int) -> list[Any]:
    """The request's elements in order (each one JSON value, not yet validated)."""
    elements = _ndjson_lines(body) if ndjson else _json_elements(body)
    if not elements:
        raise BadBody("no events in the body")
    if len(elements) > max_events:
        raise BadBody(f"too many events in one request: {len(elements)} (at most {max_events}); split the batch")
    return elements


def _ndjson_lines(body: bytes) -> list[bytes]:
    # Blank lines are skipped and do not count as elements (so an index is an event's position).
    return [line for line in body.split(b"\n") if line.strip()]


def _json_elements(body: bytes) -> list[Any]:
    start = _leading_whitespace.match(body).end()  # type: ignore[union-attr] - always matches
    if start == len(body):
        return []
    first = body[start:start + 1]
    try:
        if first == b"[":
            return _array_decoder.decode(body)
        _syntax_check.decode(body)
    except msgspec.DecodeError as exc:
        raise BadBody(f"body is not valid JSON: {exc}") from None
    except RecursionError:  # the parser stops at Python's recursion limit: never a 500
        raise BadBody(f"body is JSON {NESTED_TOO_DEEPLY}") from None
    if first == b"{":
        return [body]
    raise BadBody("body must be one event object or a JSON array of event objects "
                  "(or NDJSON with Content-Type: application/x-ndjson)")
