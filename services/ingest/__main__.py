"""``python -m services.ingest``: the ingest API, configured by ``RICHNESS_*`` variables."""
from __future__ import annotations

import asyncio
import logging
import sys

from aiokafka.errors import KafkaError

from services.ingest.server import IngestServer
from shared.config import Settings

log = logging.getLogger("services.ingest")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiokafka's debug lines quote record keys and values: event content stays out of the logs.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    settings = Settings()
    if not settings.api_keys:
        print("richness ingest: refusing to start without an API key: set RICHNESS_API_KEYS "
              "(comma-separated keys clients send as 'Authorization: Bearer <key>')", file=sys.stderr)
        return 2
    log.info("ingest API on http://%s:%d, event log %s topic %r (%d API keys)", settings.ingest_host,
             settings.ingest_port, settings.kafka_bootstrap, settings.events_topic, len(settings.api_keys))
    try:
        asyncio.run(IngestServer(settings).serve())
    except KafkaError as exc:
        log.error("cannot use the event log at %s: %s", settings.kafka_bootstrap, exc)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
