"""The local stack's Prometheus: scrapes ingest, processor and sink on 127.0.0.1 and evaluates
the project's pipeline alert rules (``deploy/prometheus/rules.yml``, as in production)."""
from __future__ import annotations

from pathlib import Path

import yaml

from shared import assets

# Shorter than production's 15 s: a local run (the demo) lasts a minute, and a rate needs two
# scrapes inside its window. Three targets every 2 s cost next to nothing.
SCRAPE_INTERVAL = "2s"


def rules_file() -> Path:
    """The pipeline alert rules shipped with the project (package data, one copy with compose's)."""
    return assets.prometheus_dir() / "rules.yml"


def write_config(home: Path, targets: dict[str, int], alerting: dict | None = None) -> Path:
    """prometheus.yml in ``home``: one job per service (job names as in production, which the
    rules and dashboards use), scraping ``127.0.0.1:<port>/metrics``; ``alerting``: where its
    alerts go (services.alerts.alertmanager.prometheus_alerting)."""
    home.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(rules_file())],
        **(alerting or {}),
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                           for job, port in targets.items()],
    }
    path = home / "prometheus.yml"
    path.write_text("# Written by `richness up`; rewritten at every start.\n" + yaml.safe_dump(config, sort_keys=False))
    return path
