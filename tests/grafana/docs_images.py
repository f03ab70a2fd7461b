"""Make the dashboard pictures in docs/images from four weeks of realistic activity of five
accounts, delivered through the real pipeline (own broker, ClickHouse, ingest, processor, sink)
while a real Prometheus scrapes it. One account ("o'brien") drops 65 % on the last day; another
("sharon") has few followers who buy a lot and keep it.

    python -m tests.grafana.docs_images [OUT_DIR]      (default: docs/images)
"""
from __future__ import annotations

import sys
import tempfile
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from time import sleep

import httpx

from services.dashboards.alerts import check_alerts
from services.dashboards.render import render_dashboards
from services.stack import components
from services.stack.processes import free_port, spawn, stop, wait_healthy
from tests.conftest import Broker
from tests.grafana.activity import Account, activity
from tests.grafana.seeding import deliver, private_pipeline, prometheus_scraping

ROOT = Path(__file__).resolve().parents[2]


def accounts(last_day) -> list[Account]:
    return [
        Account("ameena", audience=420, replies_per_day=38, clicks_per_day=55, owner_reply_rate=0.45, follow_back=0.35,
                likes_per_day=45, shares_per_day=9, orders_per_day=6),
        Account("robert", audience=1300, replies_per_day=70, clicks_per_day=140, posts_per_day=4, owner_reply_rate=0.15,
                follow_back=0.08, churn_per_day=0.006, likes_per_day=160, shares_per_day=12, orders_per_day=8,
                refund_rate=0.25, order_value=25),
        Account("sharon", audience=160, replies_per_day=22, clicks_per_day=30, owner_reply_rate=0.6, follow_back=0.6,
                likes_per_day=25, shares_per_day=8, orders_per_day=12, refund_rate=0.03, order_value=60),
        Account("zoë", audience=90, replies_per_day=12, clicks_per_day=18, owner_reply_rate=0.5, follow_back=0.5,
                likes_per_day=10, shares_per_day=3, orders_per_day=2),
        Account("o'brien", audience=600, replies_per_day=45, clicks_per_day=70, engagement_factor={last_day: 0.35},
                likes_per_day=60, shares_per_day=10, orders_per_day=10),
    ]


def _some_rejections(pipeline) -> None:
    """A few invalid events, as clients send them, so the ingest panels show rejections too."""
    headers = {"Authorization": f"Bearer {pipeline.api_key}"}
    invalid = [{"id": "bad-1", "type": "retweet", "ts": 0}, {"id": "bad-2", "type": "follow", "ts": "yesterday"},
               {"id": "bad-3", "type": "conversion", "ts": 0, "target": "x", "order_id": "o", "value": -5}]
    with httpx.Client(timeout=30) as http:
        for _ in range(3):
            http.post(f"{pipeline.ingest_url}/v1/events", json=invalid, headers=headers)


def main(out_dir: Path) -> None:
    today = datetime.now(timezone.utc).date()
    last_day, first_day = today - timedelta(days=1), today - timedelta(days=28)
    picked = accounts(last_day)
    events = activity(picked, first_day, last_day, seed=2026)
    with tempfile.TemporaryDirectory(prefix="richness-docs-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        spec = components.broker(port)
        broker = spawn(spec, workdir / "logs")
        try:
            wait_healthy(spec, broker)
            with private_pipeline(Broker(f"127.0.0.1:{port}", broker), workdir) as stack, \
                    prometheus_scraping(stack.pipeline, workdir / "prometheus") as prometheus:
                started = datetime.now(timezone.utc)
                deliver(stack.pipeline, events[: len(events) // 2], batch=500, pause_s=1.0)
                _some_rejections(stack.pipeline)
                deliver(stack.pipeline, events[len(events) // 2:], batch=500, pause_s=1.0)
                ended = datetime.now(timezone.utc) + timedelta(seconds=10)
                names = [a.name for a in picked]
                paths = render_dashboards(stack.settings, out_dir,
                                          datetime.combine(first_day, time(), timezone.utc),
                                          datetime.combine(today, time(), timezone.utc), names,
                                          uids=["richness-conversations", "richness-audience", "richness-traffic",
                                                "richness-value"])
                sleep(max(0.0, (ended - datetime.now(timezone.utc)).total_seconds()))  # the last scrapes
                paths += render_dashboards(stack.settings, out_dir, started - timedelta(seconds=5), ended,
                                           uids=["richness-pipeline"], prometheus_url=prometheus, scrape_interval="5s")
                for path in paths:
                    print(f"wrote {path}")
                for alert in check_alerts(stack.settings, datetime.combine(today, time(6), timezone.utc)):
                    print(f"would fire: {alert.rule_title} {alert.labels}: {alert.summary}")
        finally:
            stop(broker)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images")
