"""Running the ingest API: topics, event log and HTTP server, started and stopped together."""
from __future__ import annotations

import logging

import uvicorn

from services.ingest.app import create_app
from services.ingest.event_log import EventLog
from shared.config import Settings
from shared.kafka.admin import ensure_topics

log = logging.getLogger(__name__)


class IngestServer:
    def __init__(self, settings: Settings, *, access_log: bool = True) -> None:
        self.settings = settings
        self._access_log = access_log
        self._http: uvicorn.Server | None = None

    async def serve(self) -> None:
        """Run until ``request_exit`` (or SIGINT/SIGTERM when run in the main thread)."""
        settings = self.settings
        await ensure_topics(settings)
        event_log = EventLog(settings)
        await event_log.start()
        try:
            config = uvicorn.Config(create_app(settings, event_log), host=settings.ingest_host,
                                    port=settings.ingest_port, log_config=None, access_log=self._access_log,
                                    lifespan="off")
            self._http = uvicorn.Server(config)
            await self._http.serve()
        finally:
            await event_log.stop()

    @property
    def started(self) -> bool:
        return self._http is not None and self._http.started

    @property
    def url(self) -> str:
        """Base URL, once started (the port is the one actually bound, also when configured as 0)."""
        assert self._http is not None and self._http.started, "server not started"
        host, port = self._http.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def request_exit(self) -> None:
        if self._http is not None:
            self._http.should_exit = True
