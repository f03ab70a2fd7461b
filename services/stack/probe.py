"""HTTP requests to the stack's own local services — health checks, /metrics — through one client.

``httpx.get()`` builds a client for every call, and with it a TLS context that loads the CA
bundle: 55 ms of CPU per call on this machine, against ~2 ms through one client kept for the
process (BENCHMARKS.md, "The bench's own probes"). The supervisor probes a starting component
every 0.2 s and the bench polls the workers' /metrics ten times a second while it measures them;
at 55 ms a call those probes took over half a core of a 2-core machine from what they measured.
Connections are not kept alive, so a component restarted on the same port never meets a stale
pooled connection (a local connection costs far less than the TLS context did).
"""
from __future__ import annotations

import threading

import httpx

_client: httpx.Client | None = None
_lock = threading.Lock()


def client() -> httpx.Client:
    """The process's client for local probes (created on first use, never closed: it holds no
    connection between requests)."""
    global _client  # noqa: PLW0603 - one per process, created lazily
    with _lock:
        if _client is None:
            _client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
        return _client


def get(url: str, timeout_s: float, **kwargs) -> httpx.Response:
    return client().get(url, timeout=timeout_s, **kwargs)


def post(url: str, timeout_s: float, **kwargs) -> httpx.Response:
    return client().post(url, timeout=timeout_s, **kwargs)


def head(url: str, timeout_s: float, **kwargs) -> httpx.Response:
    return client().head(url, timeout=timeout_s, **kwargs)
