"""A private ClickHouse whose production database ``richness`` is filled by the real pipeline
(ingest → broker → processor → sink), and a real Prometheus scraping that pipeline's services.

The dashboards and alert rules query ``richness.*`` exactly as in production, and the read-only
user may read only ``richness``: so these tests own a whole ClickHouse server rather than a
database in the shared one.
"""
from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import yaml

from services.stack.processes import Spec, free_port, spawn, stop, wait_healthy
from shared.config import Settings
from tests.conftest import ClickHouse, start_clickhouse
from tests.pipeline.harness import Pipeline


@dataclass
class Seeded:
    clickhouse: ClickHouse
    pipeline: Pipeline

    @property
    def settings(self) -> Settings:
        return self.pipeline.settings


def richness_pipeline(broker, clickhouse: ClickHouse, log_dir: Path) -> Pipeline:
    """The test harness's pipeline, writing the database ``richness`` instead of a private one."""
    return Pipeline(broker, clickhouse, log_dir, clickhouse_database="richness")


@contextmanager
def private_pipeline(broker, workdir: Path) -> Iterator[Seeded]:
    """A ClickHouse of its own and the running pipeline writing its ``richness`` database."""
    clickhouse = start_clickhouse(workdir / "clickhouse", workdir / "logs")
    pipeline = richness_pipeline(broker, clickhouse, workdir / "logs")
    try:
        pipeline.start()
        yield Seeded(clickhouse, pipeline)
    finally:
        pipeline.stop_all()
        stop(clickhouse.running)


def deliver(pipeline: Pipeline, events: list[dict], batch: int = 5000, pause_s: float = 0.0) -> None:
    """Post ``events`` through the ingest API (pausing between requests, to spread the load
    over time for Prometheus) and wait until they are all in ClickHouse."""
    for start in range(0, len(events), batch):
        pipeline.post(events[start:start + batch], batch=batch)
        time.sleep(pause_s)
    pipeline.drain(timeout_s=180)


@contextmanager
def prometheus_scraping(pipeline: Pipeline, workdir: Path) -> Iterator[str]:
    """Debian's Prometheus scraping the pipeline's services every second, as deploy/ configures
    it for production (same job names); yields its URL."""
    if shutil.which("prometheus") is None:
        raise RuntimeError("Prometheus is not installed: `make deps` installs Debian's prometheus package")
    port = free_port()
    targets = {"ingest": pipeline.ingest_port,
               "processor": int(pipeline.specs["processor"].env["RICHNESS_METRICS_PORT"]),
               "accounts": int(pipeline.specs["accounts"].env["RICHNESS_METRICS_PORT"]),
               "sink": int(pipeline.specs["sink"].env["RICHNESS_METRICS_PORT"])}
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{target}"]}]}
                           for job, target in targets.items()],
    }
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{port}"
    spec = Spec(name="prometheus",
                argv=["prometheus", f"--config.file={workdir / 'prometheus.yml'}",
                      f"--storage.tsdb.path={workdir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                healthy=lambda: httpx.get(f"{url}/-/ready", timeout=2).status_code == 200,
                start_timeout_s=30, stop_timeout_s=10)
    running = spawn(spec, workdir)
    try:
        wait_healthy(spec, running)
        _wait_scraping(url, len(targets))
        yield url
    finally:
        stop(running)


def _wait_scraping(url: str, targets: int, timeout_s: float = 30) -> None:
    """Until every target has been scraped successfully (the first scrape comes a moment later)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = httpx.get(f"{url}/api/v1/query", params={"query": "up == 1"}, timeout=5).json()["data"]["result"]
        if len(result) == targets:
            return
        time.sleep(0.2)
    raise RuntimeError(f"Prometheus at {url} did not scrape all {targets} targets in {timeout_s:.0f} s")
