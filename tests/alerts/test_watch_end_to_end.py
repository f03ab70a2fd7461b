"""`richness alerts watch`'s loop end to end: the real pipeline fills a private ClickHouse with a
planted drop, the watcher evaluates the provisioned rules against it and posts to a real HTTP
receiver. The planted drop notifies exactly once, a restart repeats nothing, the recovery notifies
once, a steady account never; the rules' `for` is honoured; an unreachable receiver loses nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Callable

import pytest

from services.alerts.receiver import WebhookReceiver
from services.alerts.watch import Watcher, webhook
from shared.config import Settings
from tests.grafana.activity import Account, activity, day_start_ms
from tests.grafana.seeding import deliver, private_pipeline

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]

TODAY = datetime.now(timezone.utc).date()
RECOVERY_DAY = TODAY - timedelta(days=1)  # the ingest API refuses events from the future
DROP_DAY = RECOVERY_DAY - timedelta(days=1)
FIRST_DAY = DROP_DAY - timedelta(days=16)
# Mornings after: the rules judge the last full UTC day.
AFTER_DROP = datetime.combine(DROP_DAY + timedelta(days=1), time(6), tzinfo=timezone.utc)
AFTER_RECOVERY = datetime.combine(RECOVERY_DAY + timedelta(days=1), time(0, 30), tzinfo=timezone.utc)
ACCOUNTS = [
    Account("steady", audience=300, replies_per_day=60, clicks_per_day=80),
    Account("dropping", audience=300, replies_per_day=60, clicks_per_day=80, engagement_factor={DROP_DAY: 0.4}),
]
HOUR = timedelta(hours=1)


@dataclass
class Data:
    settings: Settings
    deliver_recovery_day: Callable[[], None]


@pytest.fixture(scope="module")
def data(broker, tmp_path_factory):
    events = activity(ACCOUNTS, FIRST_DAY, RECOVERY_DAY, seed=3)
    split = day_start_ms(RECOVERY_DAY)
    with private_pipeline(broker, tmp_path_factory.mktemp("alerts")) as stack:
        deliver(stack.pipeline, [e for e in events if e["ts"] < split])
        yield Data(stack.settings, lambda: deliver(stack.pipeline, [e for e in events if e["ts"] >= split]))


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


def watcher(data: Data, tmp_path, receiver: WebhookReceiver, **options) -> Watcher:
    return Watcher(data.settings, tmp_path / "state.json", webhook(receiver.url), **options)


def test_a_planted_drop_notifies_once_then_its_recovery_once_and_a_restart_repeats_nothing(data, tmp_path, receiver):
    with watcher(data, tmp_path, receiver, pending=timedelta(0)) as first:
        assert first.tick(AFTER_DROP - timedelta(days=1)).transitions == []  # the day before: all normal
        fired = first.tick(AFTER_DROP)
        assert sorted(t.instance.labels["account"] for t in fired.transitions) == ["dropping", "dropping"]
        assert first.tick(AFTER_DROP + HOUR).transitions == []  # still firing: nothing new
    [firing] = [r.payload for r in receiver.received]
    assert (firing["status"], firing["groupLabels"]) == ("firing", {"account": "dropping"})
    assert sorted(a["labels"]["alertname"] for a in firing["alerts"]) == ["Engagement per follower dropped",
                                                                          "Replies received dropped"]
    assert "Account: dropping" in firing["message"] and "below its baseline" in firing["message"]
    assert "d/richness-conversations?orgId=1&var-account=dropping" in firing["message"]

    with watcher(data, tmp_path, receiver, pending=timedelta(0)) as restarted:  # a restart
        assert restarted.tick(AFTER_DROP + 2 * HOUR).transitions == []
        assert len(receiver.received) == 1
        data.deliver_recovery_day()
        resolved = restarted.tick(AFTER_RECOVERY)
        assert [t.status for t in resolved.transitions] == ["resolved", "resolved"]
        assert restarted.tick(AFTER_RECOVERY + HOUR).transitions == []
    bodies = [r.payload for r in receiver.received]
    assert [b["status"] for b in bodies] == ["firing", "resolved"]
    assert {a["labels"]["account"] for b in bodies for a in b["alerts"]} == {"dropping"}  # steady: never
    assert [a["startsAt"] for a in bodies[1]["alerts"]] == [a["startsAt"] for a in firing["alerts"]]


def test_the_rules_for_is_honoured(data, tmp_path, receiver):
    with watcher(data, tmp_path, receiver) as watching:  # the rules say `for: 2h`
        assert watching.tick(AFTER_DROP).transitions == []
        assert {i.labels["account"] for i in watching.states.values()} == {"dropping"}
        assert watching.tick(AFTER_DROP + HOUR).transitions == []
        assert len(watching.tick(AFTER_DROP + 2 * HOUR).transitions) == 2
    assert len(receiver.received) == 1


def test_a_receiver_that_is_down_gets_the_notification_later_and_once(data, tmp_path, receiver):
    outage = WebhookReceiver().start()
    down_url = outage.url
    outage.stop()  # nothing listens there now
    with Watcher(data.settings, tmp_path / "state.json", webhook(down_url), pending=timedelta(0)) as watching:
        report = watching.tick(AFTER_DROP)
        assert len(report.transitions) == 2 and report.delivered == [] and report.undelivered == 1
        assert report.delivery_error
    # Restarted, now with a receiver that answers: the kept notification goes out, once.
    with watcher(data, tmp_path, receiver, pending=timedelta(0)) as watching:
        report = watching.tick(AFTER_DROP + HOUR)
        assert report.transitions == [] and len(report.delivered) == 1 and report.undelivered == 0
        assert watching.tick(AFTER_DROP + 2 * HOUR).delivered == []
    assert [r.payload["status"] for r in receiver.received] == ["firing"]


def test_an_unreachable_clickhouse_changes_no_state(data, tmp_path, receiver):
    broken = data.settings.model_copy(update={"clickhouse_url": "http://127.0.0.1:9"})
    with watcher(data, tmp_path, receiver, pending=timedelta(0)) as watching:
        watching.tick(AFTER_DROP)
        before = dict(watching.states)
        watching.settings = broken
        report = watching.tick(AFTER_DROP + HOUR)
        assert report.errors and report.transitions == [] and watching.states == before
    assert len(receiver.received) == 1


def test_one_watcher_per_state_file(data, tmp_path, receiver):
    from services.alerts.watch import WatchError

    with watcher(data, tmp_path, receiver):
        with pytest.raises(WatchError, match="another"):
            with watcher(data, tmp_path, receiver):
                pass
