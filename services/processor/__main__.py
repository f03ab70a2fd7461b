"""``python -m services.processor --stage events|accounts``: run one worker of one stage (start
more to scale out, up to the number of partitions of its input topic).

``events`` applies the event rules to the events topic; ``accounts`` applies the account rules to
the account changes the first stage sends. A deployment runs at least one worker of each."""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys

from faust import Worker
from prometheus_client import start_http_server

from services.processor.app import STAGES, create_app
from services.processor.faust_adapter import discard_stale_state
from services.processor.metrics import REGISTRY
from shared.config import get_settings
from shared.kafka.admin import ensure_topics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=sorted(STAGES), default="events")
    stage = parser.parse_args().stage
    sys.argv = sys.argv[:1]  # what follows is Faust's worker, which reads no arguments of ours
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(ensure_topics(settings))
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    if settings.state_store == "rocksdb":
        asyncio.run(discard_stale_state(settings, STAGES[stage].group(settings), STAGES[stage].table))
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=REGISTRY)
    # A batch allocates millions of short-lived objects: with the default thresholds the cycle
    # collector runs thousands of times a second over a large heap. Nothing here makes cycles
    # that must be freed quickly; collect rarely, and never scan what start-up built.
    gc.set_threshold(100_000, 50, 100)
    gc.freeze()
    Worker(create_app(settings, stage), loglevel="info", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
