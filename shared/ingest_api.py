"""The ingest API's answer bodies (contract §2), shared by the server and its clients so that
both sides encode and decode one definition."""
from __future__ import annotations

import msgspec


class Rejection(msgspec.Struct):
    """One invalid element of a request, as reported to the client."""

    index: int  # 0-based position of the element in the request
    id: str | None
    error: str


class IngestResult(msgspec.Struct):
    """202 (at least one event accepted) and per-event 400 answers."""

    accepted: int
    rejected: int
    errors: list[Rejection]


class ErrorBody(msgspec.Struct):
    """Every other error answer: 400 for an unusable body, 401, 413, 503."""

    error: str
