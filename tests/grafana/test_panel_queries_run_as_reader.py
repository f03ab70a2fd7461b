"""Every panel and variable query of the engagement dashboards, expanded exactly as Grafana and
the ClickHouse plugin expand it, runs on the real ClickHouse as the read-only user over data the
real pipeline delivered, and returns what its panel draws; the account filter selects exactly
the chosen accounts, quotes and backslashes in their names included."""
from __future__ import annotations

import pytest

from services.dashboards.queries import Frame, panel_queries, resolve_variables, run_sql
from shared.clickhouse.client import connect
from shared.grafana import provisioning
from tests.grafana.conftest import ACCOUNTS, DATA_RANGE, FIRST_DAY, LAST_DAY

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]

ENGAGEMENT = [d for d in provisioning.dashboards() if d["uid"] != "richness-pipeline"]
NAMES = {account.name for account in ACCOUNTS}


@pytest.fixture(scope="module")
def reader(seeded):
    return connect(seeded.settings, reader=True)


def check_panel_shape(panel: dict, frame: Frame) -> None:
    """The columns and rows the panel type draws (no empty panel on realistic data)."""
    title, kinds = panel["title"], {c: frame.kind(c) for c in frame.columns}
    numbers = [c for c, k in kinds.items() if k == "number"]
    assert frame.rows, f"{title}: no rows"
    assert numbers or panel["type"] == "table", f"{title}: no numeric column in {kinds}"
    if panel["type"] == "timeseries":
        times = [c for c, k in kinds.items() if k == "time"]
        assert times, f"{title}: no time column in {kinds}"
        values = frame.values(times[0])
        assert values == sorted(values), f"{title}: rows not in time order (the plugin's long-to-wide needs it)"
        label = panel["fieldConfig"]["defaults"].get("displayName", "").removeprefix("${__field.labels.").rstrip("}")
        assert not label or kinds.get(label) == "string", f"{title}: legend label column {label!r} missing"
    elif panel["type"] == "stat":
        assert len(frame.rows) == 1 and frame.rows[0][frame.columns.index(numbers[0])] is not None, title
    elif panel["type"] == "table":
        for override in panel["fieldConfig"]["overrides"]:
            assert override["matcher"]["options"] in frame.columns, f"{title}: no column {override['matcher']['options']!r}"
    elif panel["type"] == "barchart":
        assert panel["options"]["xField"] in frame.columns, title
    elif panel["type"] == "bargauge":
        assert "string" in kinds.values(), f"{title}: a bar gauge needs a label column"
    else:
        pytest.fail(f"{title}: no expectation for panel type {panel['type']}")


@pytest.mark.parametrize("selection", [None, ["o'brien"], ["back\\slash", "steady"]], ids=["all", "quote", "backslash"])
@pytest.mark.parametrize("dashboard", ENGAGEMENT, ids=lambda d: d["uid"])
def test_every_panel_query_runs_as_the_reader_and_returns_what_its_panel_draws(reader, dashboard, selection):
    variables = resolve_variables(reader, dashboard, DATA_RANGE, {"account": selection} if selection else None)
    for query in panel_queries(dashboard, DATA_RANGE):
        frame = run_sql(reader, query.clickhouse_sql(DATA_RANGE, variables))
        check_panel_shape(query.panel, frame)
        for column in {"account", "owner"} & set(frame.columns) if selection else ():
            shown = set(frame.values(column))
            assert shown <= set(selection), f"{query.panel['title']}: {column} {shown}"


def test_the_account_variable_offers_engaged_accounts_with_hex_values(reader):
    [variable] = resolve_variables(reader, ENGAGEMENT[0], DATA_RANGE)
    expected = sorted(name.encode().hex().upper() for name in NAMES)
    assert sorted(variable.options) == expected and variable.is_all


def test_all_is_the_sum_of_the_single_accounts_and_matches_the_view(seeded, reader):
    dashboard = next(d for d in ENGAGEMENT if d["uid"] == "richness-conversations")
    query = next(q for q in panel_queries(dashboard, DATA_RANGE) if q.panel["title"] == "Replies received")

    def replies(selection):
        variables = resolve_variables(reader, dashboard, DATA_RANGE, {"account": selection} if selection else None)
        return run_sql(reader, query.clickhouse_sql(DATA_RANGE, variables)).rows[0][0]

    admin = connect(seeded.settings)
    direct = admin.query("SELECT sum(replies_received) FROM richness.account_daily WHERE day BETWEEN %(a)s AND %(b)s",
                         parameters={"a": FIRST_DAY, "b": LAST_DAY}).result_rows[0][0]
    assert replies(None) == sum(replies([name]) for name in NAMES) == direct > 0


def test_an_unknown_account_is_refused_with_the_choices(reader):
    with pytest.raises(ValueError, match="not among the dashboard's choices"):
        resolve_variables(reader, ENGAGEMENT[0], DATA_RANGE, {"account": ["nobody"]})


VALUE = next(d for d in ENGAGEMENT if d["uid"] == "richness-value")


@pytest.mark.parametrize("title, column", [("Conversation rate", "replies_received"),
                                           ("Amplification rate", "shares_received"),
                                           ("Applause rate", "likes_received")])
def test_the_rates_are_ratios_of_sums_over_the_period(seeded, reader, title, column):
    """Contract §6: Σ received / Σ posts over the period, not a mean of daily ratios."""
    query = next(q for q in panel_queries(VALUE, DATA_RANGE) if q.panel["title"] == title)
    shown = run_sql(reader, query.clickhouse_sql(DATA_RANGE, resolve_variables(reader, VALUE, DATA_RANGE))).rows[0][0]
    direct = connect(seeded.settings).query(
        f"SELECT sum({column}) / sum(posts) FROM richness.account_daily WHERE day BETWEEN %(a)s AND %(b)s",
        parameters={"a": FIRST_DAY, "b": LAST_DAY}).result_rows[0][0]
    assert shown == pytest.approx(direct) and shown > 0


def test_who_brings_value_ranks_followers_by_what_they_kept(seeded, reader):
    query = next(q for q in panel_queries(VALUE, DATA_RANGE) if q.panel["title"].startswith("Who brings value"))
    variables = resolve_variables(reader, VALUE, DATA_RANGE, {"account": ["steady"]})
    frame = run_sql(reader, query.clickhouse_sql(DATA_RANGE, variables))
    kept = frame.values("kept revenue")
    assert kept == sorted(kept, reverse=True) and set(frame.values("account")) == {"steady"}
    best = connect(seeded.settings).query(
        "SELECT max(kept_revenue) FROM richness.followers WHERE account = 'steady'").result_rows[0][0]
    assert kept[0] == best > 0
