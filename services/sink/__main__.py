"""``python -m services.sink``: run the sink (more instances share the partitions)."""
from __future__ import annotations

import asyncio
import gc
import logging
import signal

from prometheus_client import start_http_server

from services.sink.metrics import REGISTRY
from services.sink.sink import Sink
from shared.clickhouse.client import connect
from shared.config import get_settings
from shared.kafka.admin import ensure_topics


async def run() -> None:
    settings = get_settings()
    await ensure_topics(settings)
    sink = Sink(settings, lambda: connect(settings))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, sink.stop)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=REGISTRY)
    await sink.run()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # A batch decodes hundreds of thousands of objects: with the default thresholds the cycle
    # collector would run thousands of times a second. Nothing here makes cycles that must be
    # freed quickly (as in the processor).
    gc.set_threshold(100_000, 50, 100)
    gc.freeze()
    asyncio.run(run())


if __name__ == "__main__":
    main()
