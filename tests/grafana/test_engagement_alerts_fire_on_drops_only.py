"""The Grafana engagement-drop rules, evaluated from their provisioning file on data the real
pipeline delivered: the planted 60 % drop fires the three rules for its account only, a refund
wave fires the kept-revenue rule only; steady data, a tiny noisy account and a volatile account
with an equally deep drop stay quiet."""
from __future__ import annotations

import statistics
from datetime import timedelta
from decimal import Decimal

import pytest

from services.dashboards.alerts import check_alerts
from services.dashboards.queries import run_sql
from shared.clickhouse.client import connect
from shared.grafana import provisioning
from shared.grafana.alerting import numbers_from_table
from shared.grafana.macros import TimeRange, clickhouse_sql
from tests.grafana.conftest import ACCOUNTS, LAST_DAY, NOW

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


# The instances that must fire on the last day: (rule, account) -> the range its value must be in.
EXPECTED = {
    ("richness-engagement-drop", "dropping"): (0.5, 0.75),  # 60 % planted, noise aside
    ("richness-replies-drop", "dropping"): (0.5, 0.75),
    # Orders at 40 %, minus the usual refunds of the days before.
    ("richness-value-drop", "dropping"): (0.5, 0.85),
    # 80 % of the day's orders refunded that day: about 80 % of the usual kept revenue gone.
    ("richness-value-drop", "recalled"): (0.7, 1.0),
}


def test_the_planted_drops_fire_their_rules_for_their_accounts_only(seeded):
    firing = check_alerts(seeded.settings, now=NOW)
    assert sorted((f.rule_uid, f.labels["account"]) for f in firing) == sorted(EXPECTED)
    for alert in firing:
        low, high = EXPECTED[(alert.rule_uid, alert.labels["account"])]
        assert low < alert.value < high, alert
        assert alert.condition == "B gt 0.5" and alert.pending_for == "2h"
        assert alert.summary.startswith(f"{alert.labels['account']}: ") and "% below the usual day" in alert.summary
        assert "{{" not in alert.description


def test_a_refund_wave_is_seen_by_kept_revenue_not_by_revenue(seeded):
    rows = connect(seeded.settings).query(
        "SELECT day, revenue, kept_revenue FROM richness.account_daily WHERE account = 'recalled' "
        "AND day BETWEEN %(a)s AND %(b)s ORDER BY day", parameters={"a": LAST_DAY - timedelta(days=14), "b": LAST_DAY})
    by_day = {day: (revenue, kept) for day, revenue, kept in rows.result_rows}
    baseline = [by_day[LAST_DAY - timedelta(days=d)] for d in range(1, 15)]
    revenue, kept = by_day[LAST_DAY]
    assert revenue > Decimal("0.6") * statistics.median(r for r, _ in baseline)  # orders as usual…
    assert kept < Decimal("0.4") * statistics.median(k for _, k in baseline)  # …most of them refunded that day


@pytest.mark.parametrize("days_before", range(1, 7))
def test_nothing_fires_on_the_days_before(seeded, days_before):
    assert check_alerts(seeded.settings, now=NOW - timedelta(days=days_before)) == []


def _replies(seeded, account: str) -> dict:
    rows = connect(seeded.settings).query(
        "SELECT day, replies_received FROM richness.account_daily WHERE account = %(a)s", parameters={"a": account})
    return dict(rows.result_rows)


@pytest.mark.parametrize("account", ["o'brien", "volatile"])
def test_accounts_that_dropped_as_deep_stay_quiet_when_too_small_or_too_noisy(seeded, account):
    replies = _replies(seeded, account)
    baseline = [replies.get(LAST_DAY - timedelta(days=d), 0) for d in range(1, 15)]
    assert replies.get(LAST_DAY, 0) <= 0.5 * statistics.median(baseline)  # the drop is there…
    assert account not in {f.labels["account"] for f in check_alerts(seeded.settings, now=NOW)}  # …and no alert


@pytest.mark.parametrize("rule", provisioning.alert_rules(), ids=lambda r: r.uid)
def test_rule_query_returns_one_number_per_active_account(seeded, rule):
    [query] = [q for q in rule.rule["data"] if q["datasourceUid"] != "__expr__"]
    span = query["relativeTimeRange"]
    window = TimeRange(NOW - timedelta(seconds=span["from"]), NOW - timedelta(seconds=span["to"]))
    frame = run_sql(connect(seeded.settings, reader=True), clickhouse_sql(query["model"]["rawSql"], window))
    assert list(zip(frame.columns, frame.types)) == [("account", "String"), ("value", "Float64")]
    values = {n.label_dict["account"]: n.value for n in numbers_from_table(frame.fields())}
    assert {a.name for a in ACCOUNTS} <= set(values)
    firing = {account for uid, account in EXPECTED if uid == rule.uid}
    assert all(value == 0 for account, value in values.items() if account not in firing)
    assert all(values[account] > 0.5 for account in firing)
