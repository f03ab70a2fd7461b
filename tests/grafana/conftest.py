"""Seeded data for the dashboard and alert tests: three weeks of realistic activity of a few
accounts, delivered by the real pipeline into a private ClickHouse (database ``richness``) while
a real Prometheus scrapes the services."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import pytest

from shared.config import Settings
from shared.grafana.macros import TimeRange
from tests.grafana.activity import Account, activity
from tests.grafana.seeding import Seeded, deliver, private_pipeline, prometheus_scraping

# Relative to today: the ingest API refuses events from the future.
LAST_DAY = datetime.now(timezone.utc).date() - timedelta(days=2)
FIRST_DAY = LAST_DAY - timedelta(days=20)
# The morning after the last day: the alert rules judge LAST_DAY, their last full day.
NOW = datetime.combine(LAST_DAY + timedelta(days=1), time(6), tzinfo=timezone.utc)
DATA_RANGE = TimeRange(datetime.combine(FIRST_DAY, time(), tzinfo=timezone.utc),
                       datetime.combine(LAST_DAY + timedelta(days=1), time(), tzinfo=timezone.utc))


def _alternating(first: date, last: date, low: float, high: float) -> dict[date, float]:
    return {first + timedelta(days=i): (low if i % 2 else high) for i in range((last - first).days + 1)}


ACCOUNTS = [
    Account("steady", audience=300, replies_per_day=60, clicks_per_day=80, orders_per_day=40),
    # The planted drop: replies, clicks, likes, shares and orders at 40 % of a normal day on the last day.
    Account("dropping", audience=300, replies_per_day=60, clicks_per_day=80, orders_per_day=80,
            engagement_factor={LAST_DAY: 0.4}),
    # Tiny and noisy, and nothing at all on the last day: too small to judge.
    Account("o'brien", audience=8, replies_per_day=1.5, clicks_per_day=1, likes_per_day=2, shares_per_day=0.5,
            orders_per_day=1, engagement_factor={LAST_DAY: 0.0}),
    # Big swings every other day, then a 60 % drop: within its own noise.
    Account("volatile", audience=150, replies_per_day=25, clicks_per_day=30, orders_per_day=30,
            engagement_factor={**_alternating(FIRST_DAY, LAST_DAY, 0.3, 1.7), LAST_DAY: 0.4}),
    Account("back\\slash", audience=40, replies_per_day=8, clicks_per_day=6, likes_per_day=8, shares_per_day=2,
            orders_per_day=5),
    # A recall: engagement and orders as usual, but 80 % of the last day's orders refunded that day.
    Account("recalled", audience=250, replies_per_day=30, clicks_per_day=40, orders_per_day=50,
            refund_wave={LAST_DAY: 0.8}),
]


@dataclass
class SeededData:
    seeded: Seeded
    prometheus_url: str
    prometheus_range: TimeRange  # while Prometheus scraped the pipeline at work

    @property
    def settings(self) -> Settings:
        return self.seeded.settings


@pytest.fixture(scope="session")
def seeded(broker, tmp_path_factory) -> SeededData:
    workdir = tmp_path_factory.mktemp("grafana")
    events = activity(ACCOUNTS, FIRST_DAY, LAST_DAY, seed=11)
    with private_pipeline(broker, workdir) as stack, prometheus_scraping(stack.pipeline, workdir / "prometheus") as url:
        started = datetime.now(timezone.utc)
        deliver(stack.pipeline, events, batch=1500, pause_s=0.7)
        ended = datetime.now(timezone.utc) + timedelta(seconds=3)
        yield SeededData(stack, url, TimeRange(started - timedelta(seconds=5), ended))
