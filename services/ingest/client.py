"""A client of ``POST /v1/events`` for tools that send many batches (import, simulate).

Retries what is worth retrying — connection errors, 429 and 5xx (503 means the event log could not
confirm the write, so nothing was accepted) — with capped exponential backoff that honours
``Retry-After``, and hands every other answer back to the caller to interpret.
"""
from __future__ import annotations

import time

import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class IngestUnreachable(RuntimeError):
    """No answer but retryable ones after every attempt."""


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

    def post(self, body: bytes, content_type: str = "application/json") -> httpx.Response:
        """POST one body until it gets an answer that is not worth retrying; return that answer."""
        headers = {"Authorization": f"Bearer {self._api_key}", "Content-Type": content_type}
        delay = 0.5
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = self._client.post(self.url, content=body, headers=headers)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem = f"HTTP {response.status_code}"
                delay = max(delay, _retry_after(response))
            if attempt < self._max_attempts:
                time.sleep(min(delay, self._max_backoff_s))
                delay *= 2
        raise IngestUnreachable(f"no acknowledgement from {self.url} after {self._max_attempts} attempts ({problem})")


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 0.0
