"""A client of ``POST /v1/events`` for tools that send many batches (import, connect, simulate).

Retries what is worth retrying — connection errors, 429 and 5xx (503 means the event log could not
confirm the write, so nothing was accepted) — with capped exponential backoff that honours
``Retry-After``. ``send`` decodes the answer with the server's own result struct and turns every
other answer into an ``IngestError`` that says what to do.
"""
from __future__ import annotations

import random
import time

import httpx
import msgspec

from shared.ingest_api import ErrorBody, IngestResult

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
NDJSON = "application/x-ndjson"

_result = msgspec.json.Decoder(IngestResult)
_error = msgspec.json.Decoder(ErrorBody)


class IngestError(RuntimeError):
    """The batch was not taken; what earlier batches had acknowledged stays."""


class IngestUnreachable(IngestError):
    """No answer but retryable ones after every attempt."""


class KeyRefused(IngestError):
    """401: the API key is missing or wrong."""


class BatchTooLarge(IngestError):
    """413: the body is over the API's limit."""


class IngestRefused(IngestError):
    """Any other answer without a per-event result (e.g. a 400 for an unusable body)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the ingest API answered {status}: {detail}")
        self.status = status


class IngestClient:
    def __init__(self, ingest_url: str, api_key: str, *, max_attempts: int = 8, max_backoff_s: float = 10.0,
                 timeout_s: float = 120.0, transport: httpx.BaseTransport | None = None) -> None:
        base = ingest_url.rstrip("/")
        self.url = base if base.endswith("/v1/events") else base + "/v1/events"
        self._api_key = api_key
        self._max_attempts = max_attempts
        self._max_backoff_s = max_backoff_s
        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def __enter__(self) -> IngestClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def send(self, body: bytes, content_type: str = "application/json") -> IngestResult:
        """POST one batch until it is answered; the per-event result, or an ``IngestError``."""
        response = self.post(body, content_type)
        status = response.status_code
        if status == 401:
            raise KeyRefused("the ingest API refused the API key (401)")
        if status == 413:
            raise BatchTooLarge("batch larger than the ingest API's body limit (413); use a smaller batch size")
        if status in (202, 400):
            try:
                return _result.decode(response.content)
            except msgspec.DecodeError:
                pass  # a 400 for the body as a whole: {"error": ...}
        try:
            detail = _error.decode(response.content).error
        except msgspec.DecodeError:
            detail = response.text[:200]
        raise IngestRefused(status, detail)

    def post(self, body: bytes, content_type: str = "application/json") -> httpx.Response:
        """POST one body until it gets an answer that is not worth retrying; return that answer."""
        headers = {"Authorization": f"Bearer {self._api_key}", "Content-Type": content_type}
        delay = 0.5
        for attempt in range(1, self._max_attempts + 1):
            asked = 0.0  # the server's Retry-After, honoured as a minimum
            try:
                response = self._client.post(self.url, content=body, headers=headers)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem = f"HTTP {response.status_code}"
                asked = _retry_after(response)
            if attempt < self._max_attempts:
                # Jitter: clients that failed together do not all come back at the same instant.
                time.sleep(min(max(delay * random.uniform(0.5, 1.0), asked), self._max_backoff_s))
                delay *= 2
        raise IngestUnreachable(f"no acknowledgement from {self.url} after {self._max_attempts} attempts ({problem})")


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 0.0
