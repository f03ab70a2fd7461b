"""Sending events to the ingest API in JSON-array batches, with retries and an optional rate.

A batch that fails in transit is sent again as it is: events are deduplicated by id downstream,
so a retry of a batch that was in fact written counts nothing twice.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from typing import Callable, Iterable

import httpx
import msgspec

from services.client.ingest import IngestClient, IngestError
from shared.ingest_api import Rejection

MAX_REPORTED_ERRORS = 20
# Money (``decimal.Decimal``) as JSON numbers, digit for digit: the API takes a number, never a string.
_encode = msgspec.json.Encoder(decimal_format="number").encode


class SendFailed(RuntimeError):
    """The ingest API refused the key or stayed unavailable; what was acknowledged stays."""


@dataclass
class SendSummary:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    by_type: Counter = field(default_factory=Counter)  # events sent, by type
    errors: list[Rejection] = field(default_factory=list)  # the first MAX_REPORTED_ERRORS
    elapsed_s: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0


class EventSender:
    """Sends event lists as JSON arrays through ``IngestClient`` (which retries what is retryable)."""

    def __init__(self, ingest_url: str, api_key: str, *, max_attempts: int = 8, max_backoff_s: float = 10.0,
                 timeout_s: float = 120.0, transport: httpx.BaseTransport | None = None) -> None:
        self._client = IngestClient(ingest_url, api_key, max_attempts=max_attempts, max_backoff_s=max_backoff_s,
                                    timeout_s=timeout_s, transport=transport)

    def __enter__(self) -> EventSender:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def post(self, events: list[dict]) -> tuple[int, list[Rejection]]:
        """Send one JSON array of events until it is answered; (accepted, rejections)."""
        try:
            result = self._client.send(_encode(events))
        except IngestError as exc:
            raise SendFailed(str(exc)) from None
        return result.accepted, result.errors


def post_events(events: Iterable[dict], client: EventSender, *, batch_size: int = 2000, rate: float = 0.0,
                progress: Callable[[SendSummary], None] = lambda _: None) -> SendSummary:
    """POST all events to the ingest API in batches; ``rate`` > 0 caps the average events per second."""
    if rate > 0:
        batch_size = max(1, min(batch_size, int(rate)))  # at most about one batch per second
    summary = SendSummary()
    started = time.monotonic()
    iterator = iter(events)
    while batch := list(islice(iterator, batch_size)):
        accepted, rejections = client.post(batch)
        summary.sent += len(batch)
        summary.accepted += accepted
        summary.rejected += len(rejections)
        summary.by_type.update(event["type"] for event in batch)
        summary.errors += rejections[:max(0, MAX_REPORTED_ERRORS - len(summary.errors))]
        if rate > 0:
            ahead = summary.sent / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        summary.elapsed_s = time.monotonic() - started
        progress(summary)
    summary.elapsed_s = time.monotonic() - started
    return summary
