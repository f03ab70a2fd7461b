"""`richness demo` as a user runs it: the real CLI against a real local stack."""
from __future__ import annotations

import json
import shutil
import statistics

import pytest

from services.alerts.receiver import WebhookReceiver
from services.simulate.model import start_of_today
from tests.stack.helpers import ch, richness

pytestmark = pytest.mark.stack


def count(info: dict, sql: str) -> int:
    response = ch(info, sql, reader=True)
    response.raise_for_status()
    return int(response.text)


def test_demo_simulates_drains_reports_and_leaves_the_stack_running(tmp_path):
    data_dir = str(tmp_path / "stack")
    day = start_of_today()
    try:
        out = richness("demo", "--data-dir", data_dir, "--events", "10000", env={"COLUMNS": "200"}).stdout
        for section in ("1/8 Start the local stack", "2/8 Simulate realistic social activity",
                        "planted drop: robert -60%", "3/8 Wait until ClickHouse has every event",
                        "every accepted event is in ClickHouse", "4/8 What Richness sees",
                        "Richest conversations", "Ranked by followers", "Ranked by engagement per follower",
                        "Money speaks: who buys and keeps it", "Most kept revenue per follower",
                        "Who follows back", "Silent followers", "5/8 Catch the planted engagement drop",
                        "the planted 60% drop of robert was caught", "6/8 Draw the dashboards",
                        "richness-conversations.png", "7/8 Where to look next",
                        "richness.account_daily", f"richness down --data-dir {data_dir}",
                        "8/8 Deliver the alert to a webhook", "--pending 0s", "[FIRING:", "Richness account=robert",
                        "Account: robert", "var-account=robert", "the planted drop of robert was delivered to the webhook",
                        "demo done in"):
            assert section in out, f"missing {section!r} in:\n{out}"
        assert "ameena" in out and "dailybuzz" in out
        if shutil.which("prometheus"):
            assert "the pipeline health dashboard shows this run, live from Prometheus" in out
        pictures = sorted(p.name for p in (tmp_path / "stack" / "dashboards").glob("*.png"))
        assert pictures == ["richness-audience.png", "richness-conversations.png", "richness-pipeline.png",
                            "richness-traffic.png", "richness-value.png"]

        assert richness("status", "--data-dir", data_dir).returncode == 0  # still running
        info = json.loads((tmp_path / "stack" / "stack.json").read_text())
        for view in ("events", "account_daily", "threads", "followers"):
            assert count(info, f"SELECT count() FROM richness.{view}") > 0, view
        assert count(info, "SELECT max(max_depth) FROM richness.threads") >= 4
        # Money speaks: the followers who buy and keep most, per follower, are ameena's.
        assert ch(info, "SELECT account FROM richness.followers GROUP BY account HAVING count() >= 10 "
                        "ORDER BY sum(kept_revenue) / count() DESC LIMIT 1", reader=True).text.strip() == "ameena"

        # The planted drop is there for an alert to catch: robert's last day against the week before.
        daily = ch(info, "SELECT replies_received + clicks FROM richness.account_daily WHERE account = 'robert' "
                         "ORDER BY day DESC LIMIT 8 FORMAT TSV", reader=True).text.split()
        last, *week = map(int, daily)
        assert last < 0.7 * statistics.median(week), daily

        # `richness alerts watch` against the stack: the drop is notified once, and a second run
        # (a restart of the watcher) repeats nothing.
        with WebhookReceiver() as receiver:
            watch = ("alerts", "watch", "--once", "--pending", "0s", "--webhook", receiver.url, "--data-dir", data_dir)
            first = richness(*watch, env={"COLUMNS": "200"}).stdout
            assert "--pending 0s" in first and "firing: " in first and "account=robert)" in first, first
            groups = [r.payload["groupLabels"].get("account") for r in receiver.received]
            assert groups.count("robert") == 1 and all(r.payload["status"] == "firing" for r in receiver.received)
            again = richness(*watch, env={"COLUMNS": "200"}).stdout
            assert "no change" in again and len(receiver.received) == len(groups), again

        # The same simulation sent again (same seed, size and day) re-sends the same ids: nothing changes.
        events = count(info, "SELECT count() FROM richness.events")
        richness("simulate", "--data-dir", data_dir, "--events", "10000", "--drop-account", "robert")
        richness("drain", "--data-dir", data_dir, "--timeout", "60")
        if start_of_today() == day:  # past midnight UTC it is another window, with other ids
            assert count(info, "SELECT count() FROM richness.events") == events
    finally:
        richness("down", "--data-dir", data_dir, check=False)
