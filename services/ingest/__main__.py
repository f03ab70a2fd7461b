"""``python -m services.ingest``: the ingest API, configured by ``RICHNESS_*`` variables."""
from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from types import FrameType

from aiokafka.errors import KafkaError

from services.ingest.server import IngestServer
from shared.config import Settings

log = logging.getLogger("services.ingest")


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiokafka's debug lines quote record keys and values: event content stays out of the logs.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    settings = Settings()
    if not settings.api_keys and settings.api_keys_file is None:
        print("richness ingest: refusing to start without API keys: set RICHNESS_API_KEYS (comma-separated "
              "keys clients send as 'Authorization: Bearer <key>') and/or RICHNESS_API_KEYS_FILE (a keys "
              "file managed by `richness keys`)", file=sys.stderr)
        return 2
    log.info("ingest API on http://%s:%d, event log %s topic %r", settings.ingest_host,
             settings.ingest_port, settings.kafka_bootstrap, settings.events_topic)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler
    # installed before it: this one unwinds through the event log's shutdown and exits with 0
    # (so does a signal during start-up).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_cleanly)
    # A request of 10,000 events makes hundreds of thousands of short-lived objects: collect
    # cycles rarely (as the processor and the sink do); nothing here makes cycles that matter.
    gc.set_threshold(100_000, 50, 100)
    gc.freeze()
    try:
        asyncio.run(IngestServer(settings).serve())
    except KafkaError as exc:
        log.error("cannot use the event log at %s: %s", settings.kafka_bootstrap, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
