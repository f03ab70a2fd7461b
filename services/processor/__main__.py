"""``python -m services.processor``: run one processor worker (start more to scale out, up to
the number of partitions of the events topic)."""
from __future__ import annotations

import asyncio
import logging

from faust import Worker
from prometheus_client import start_http_server

from services.processor.app import TABLES, create_app
from services.processor.faust_adapter import discard_stale_state
from services.processor.metrics import REGISTRY
from shared.config import get_settings
from shared.kafka.admin import ensure_topics


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(ensure_topics(settings))
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    if settings.state_store == "rocksdb":
        asyncio.run(discard_stale_state(settings, TABLES))
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=REGISTRY)
    app = create_app(settings)
    Worker(app, loglevel="info", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
