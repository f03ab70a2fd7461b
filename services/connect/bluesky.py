"""``richness connect bluesky``: Bluesky's Jetstream WebSocket into the ingest API, live.

Each message is mapped exactly as ``richness import`` maps a recorded Jetstream file
(``services.importers.formats.bluesky``), the events go to the ingest API in batches, and the
stream position (``time_us``) is saved in the state file only once the API has acknowledged
every event of every message up to it — so a crash or restart resumes without gaps. It resumes
a few seconds before that cursor (Jetstream orders messages only roughly by ``time_us``); the
messages seen twice map to the same event ids, so nothing doubles. The follow records seen are
kept in the same state file (and committed with the cursor), so unfollows after a restart are
still resolved. Lost connections are retried with capped, jittered exponential backoff.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
import websockets
from websockets.asyncio.client import connect

from services.client.ingest import (NDJSON, BatchTooLarge, IngestClient, IngestError, IngestUnreachable,
                                    KeyRefused)
from services.connect.metrics import ConnectorMetrics
from services.importers.bluesky_state import BlueskyState
from services.importers.formats import bluesky
from services.importers.mapping import Unmappable

log = logging.getLogger("richness.connect.bluesky")


@dataclass
class ConnectorConfig:
    jetstream_url: str  # e.g. wss://jetstream2.us-east.bsky.network/subscribe
    wanted_dids: list[str] = field(default_factory=list)  # empty: every account
    collections: tuple[str, ...] = bluesky.COLLECTIONS
    batch_size: int = 500
    flush_interval_s: float = 1.0  # a batch waits at most this long for more events
    rewind_s: float = 5.0  # resume this far before the saved cursor
    max_backoff_s: float = 30.0


class ConnectorStopped(RuntimeError):
    """A condition retrying cannot fix (e.g. the API key is refused)."""


class JetstreamConnector:
    def __init__(self, config: ConnectorConfig, client: IngestClient, state: BlueskyState,
                 metrics: ConnectorMetrics) -> None:
        self.config, self.client, self.state, self.metrics = config, client, state, metrics
        parts = urlsplit(config.jetstream_url)
        self.stream = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))  # the cursor's key
        self._query = [(k, v) for k, v in parse_qsl(parts.query) if k != "cursor"]
        self.pending: list[bytes] = []
        self.pending_cursor: int | None = None  # time_us of the last message whose events are pending
        self.first_pending_at = 0.0
        cursor = state.cursor(self.stream)
        if cursor is not None:
            metrics.cursor.set(cursor / 1e6)

    def subscribe_url(self) -> str:
        query = list(self._query)
        query += [("wantedCollections", c) for c in self.config.collections]
        query += [("wantedDids", did) for did in self.config.wanted_dids]
        cursor = self.state.cursor(self.stream)
        if cursor is not None:
            query.append(("cursor", str(max(cursor - int(self.config.rewind_s * 1e6), 0))))
        parts = urlsplit(self.config.jetstream_url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: connect, consume, flush; reconnect with backoff on any loss."""
        backoff = 0.5
        while not stop.is_set():
            url = self.subscribe_url()
            try:
                async with connect(url, max_size=8 * 1024 * 1024, open_timeout=10) as socket:
                    self.metrics.connected.set(1)
                    log.info("connected to %s", url)
                    if await self._consume(socket, stop):
                        backoff = 0.5  # it delivered: the next loss starts the backoff over
            except (OSError, TimeoutError, websockets.ConnectionClosed, websockets.InvalidHandshake,
                    websockets.InvalidURI) as exc:
                if isinstance(exc, websockets.InvalidURI):
                    raise ConnectorStopped(f"not a WebSocket URL: {self.config.jetstream_url}") from None
                log.warning("stream connection lost or refused (%s: %s)", type(exc).__name__, exc)
            finally:
                self.metrics.connected.set(0)
            await self._flush(stop)  # before reconnecting: the cursor then covers all that arrived
            if stop.is_set():
                break
            self.metrics.reconnects.inc()
            delay = min(backoff, self.config.max_backoff_s) * random.uniform(0.5, 1.0)
            log.info("reconnecting in %.1f s", delay)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
            backoff *= 2
        await self._flush(stop)

    async def _consume(self, socket, stop: asyncio.Event) -> bool:
        delivered = False
        while not stop.is_set():
            wait = self.config.flush_interval_s
            if self.pending:
                wait = max(0.0, self.first_pending_at + self.config.flush_interval_s - time.monotonic())
            try:
                raw = await asyncio.wait_for(socket.recv(), timeout=min(wait, 0.5) or 0.01)
            except TimeoutError:
                raw = None
            if raw is not None:
                delivered = True
                self._handle(raw if isinstance(raw, bytes) else raw.encode())
            due = self.pending and time.monotonic() - self.first_pending_at >= self.config.flush_interval_s
            if len(self.pending) >= self.config.batch_size or due or (raw is None and self.pending_cursor):
                await self._flush(stop)
        return delivered

    def _handle(self, raw: bytes) -> None:
        try:
            message = bluesky.decode(raw)
        except Unmappable as exc:
            self.metrics.messages.labels("malformed").inc()
            log.warning("skipping a message that is not a Jetstream event: %s", exc)
            return
        self.metrics.messages.labels(message.kind).inc()
        self.metrics.last_message.set(message.time_us / 1e6)
        self.metrics.lag.set(time.time() - message.time_us / 1e6)
        try:
            outcome = bluesky.map_message(message, self.state)
        except Unmappable as exc:
            self.metrics.skipped.labels("malformed").inc()
            log.warning("skipping a Jetstream event at time_us %d: %s", message.time_us, exc)
        else:
            for skip in outcome.skips:
                self.metrics.skipped.labels(skip.code).inc()
            if outcome.events and not self.pending:
                self.first_pending_at = time.monotonic()
            self.pending += [msgspec.json.encode(event) for event in outcome.events]
        # Messages may come slightly out of time_us order: the cursor never moves back.
        self.pending_cursor = max(self.pending_cursor or 0, message.time_us)

    async def _flush(self, stop: asyncio.Event) -> None:
        """Send what is pending until the API answers, then save the cursor: only now is every
        message up to it safely in."""
        if self.pending:
            await self._send_all(self.pending, stop)
            self.pending = []
        if self.pending_cursor is not None:
            saved = self.state.cursor(self.stream)
            if saved is None or self.pending_cursor > saved:
                self.state.save_cursor(self.stream, self.pending_cursor)  # commits the follows seen too
                self.metrics.cursor.set(self.pending_cursor / 1e6)
            self.pending_cursor = None

    async def _send_all(self, events: list[bytes], stop: asyncio.Event) -> None:
        backoff = 1.0
        while True:
            try:
                result = await asyncio.to_thread(self.client.send, b"\n".join(events), NDJSON)
            except BatchTooLarge:
                half = len(events) // 2
                if half == 0:
                    raise ConnectorStopped("one event is larger than the ingest API's body limit") from None
                await self._send_all(events[:half], stop)
                await self._send_all(events[half:], stop)
                return
            except KeyRefused as exc:
                raise ConnectorStopped(str(exc)) from None
            except IngestUnreachable as exc:
                if stop.is_set():  # not acknowledged: the cursor stays, the next start sends them again
                    raise ConnectorStopped(f"stopped with {len(events)} events unacknowledged ({exc})") from None
                log.warning("ingest API unavailable, retrying: %s", exc)
                await asyncio.sleep(min(backoff, self.config.max_backoff_s) * random.uniform(0.5, 1.0))
                backoff *= 2
                continue
            except IngestError as exc:
                raise ConnectorStopped(str(exc)) from None
            self.metrics.events.labels("accepted").inc(result.accepted)
            self.metrics.events.labels("rejected").inc(result.rejected)
            if result.errors:
                first = result.errors[0]
                log.warning("%d of %d events rejected by the ingest API, e.g. %s: %s", result.rejected,
                            len(events), first.id, first.error)
            return


def default_state_path(data_dir: Path) -> Path:
    return Path(data_dir) / "import-state" / "bluesky.sqlite"


def run_connector(config: ConnectorConfig, ingest_url: str, api_key: str, state_path: Path,
                  metrics_port: int, metrics_host: str = "127.0.0.1") -> None:
    """Run until SIGINT/SIGTERM (then flush, save the cursor and return) or ``ConnectorStopped``."""
    from prometheus_client import start_http_server  # noqa: PLC0415 - only the long-running command needs it

    metrics = ConnectorMetrics()
    server, _ = start_http_server(metrics_port, metrics_host, registry=metrics.registry)
    state = BlueskyState(state_path)
    client = IngestClient(ingest_url, api_key, max_attempts=3, max_backoff_s=5.0, timeout_s=60.0)
    try:
        asyncio.run(_until_signalled(JetstreamConnector(config, client, state, metrics)))
    finally:
        client.close()
        state.close()
        server.shutdown()


async def _until_signalled(connector: JetstreamConnector) -> None:
    import signal  # noqa: PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await connector.run(stop)
