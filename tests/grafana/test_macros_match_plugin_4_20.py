"""shared.grafana.macros against grafana-clickhouse-datasource 4.20.0 (the version compose pins):
the expected strings are the plugin's own documented results (its Go macro tests and its front
end's ``applyConditionalAll`` tests), for the same time range and interval."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.grafana.macros import (ALL, PLUGIN_VERSION, MacroError, TimeRange, Variable, alert_sql,
                                   apply_conditional_all, blank_comments, clickhouse_sql, expand_plugin_macros)

# The plugin's test range: 2014-11-12T11:45:26.123Z → 2015-11-12T11:45:26.456Z, interval 1 minute.
RANGE = TimeRange(datetime(2014, 11, 12, 11, 45, 26, 123_000, tzinfo=timezone.utc),
                  datetime(2015, 11, 12, 11, 45, 26, 456_000, tzinfo=timezone.utc))
MINUTE = 60_000


def expand(sql: str, interval_ms: int = MINUTE) -> str:
    return expand_plugin_macros(sql, RANGE, interval_ms)


def test_the_version_reproduced_is_the_one_compose_installs():
    assert PLUGIN_VERSION == "4.20.0"


@pytest.mark.parametrize("sql, expanded", [
    ("select * from foo where $__timeFilter(cast(sth as timestamp))",
     "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= "
     "toDateTime(1447328726)"),
    ("select * from foo where $__timeFilter(cast(sth as timestamp) )",
     "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= "
     "toDateTime(1447328726)"),
    ("select * from foo where $__timeFilter_ms(cast(sth as timestamp))",
     "select * from foo where cast(sth as timestamp) >= fromUnixTimestamp64Milli(1415792726123) AND "
     "cast(sth as timestamp) <= fromUnixTimestamp64Milli(1447328726456)"),
    ("select * from foo where ( date >= $__fromTime ) and ( date <= $__toTime ) limit 100",
     "select * from foo where ( date >= toDateTime(1415792726) ) and ( date <= toDateTime(1447328726) ) limit 100"),
    ("select * from foo where ( date >= $__fromTime_ms and date <= $__toTime_ms ) limit 100",
     "select * from foo where ( date >= fromUnixTimestamp64Milli(1415792726123) and date <= "
     "fromUnixTimestamp64Milli(1447328726456) ) limit 100"),
])
def test_the_plugins_interpolation_examples(sql, expanded):
    assert expand(sql) == expanded


@pytest.mark.parametrize("sql, expanded", [
    ("$__dateTimeFilter(dateCol, timeCol)",
     "(dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')) AND "
     "(timeCol >= toDateTime(1415792726) AND timeCol <= toDateTime(1447328726))"),
    ("$__dt(dateCol, timeCol)",
     "(dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')) AND "
     "(timeCol >= toDateTime(1415792726) AND timeCol <= toDateTime(1447328726))"),
    ("$__timeFrom(ts)", "ts >= toDateTime(1415792726)"),
    ("$__timeTo(ts)", "ts <= toDateTime(1447328726)"),
    ("$__timeGroup(ts, 5m)", "toStartOfInterval(toDateTime(ts), INTERVAL 300 second)"),
    ("$__timeGroup(ts, '1h')", "toStartOfInterval(toDateTime(ts), INTERVAL 3600 second)"),
    ("$__dateFilter(dateCol)", "dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')"),
])
def test_the_macros_the_plugin_documents(sql, expanded):
    assert expand(sql) == expanded


def test_interval_macros_for_a_20_second_interval():
    assert expand("$__timeInterval(col) $__timeInterval_ms(col) $__interval_s", 20_000) == (
        "toStartOfInterval(toDateTime(col), INTERVAL 20 second) "
        "toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond) 20")
    # An alert rule's query reaches the plugin with these (a dashboard's are replaced by Grafana first).
    assert expand("$__interval $__interval_ms", 20_000) == "20s 20000"
    assert expand("$__interval", 90_000) == "90s" and expand("$__interval", 3_600_000) == "1h"


@pytest.mark.parametrize("sql, expanded", [
    ("SELECT $__timeInterval($__fromTime) AS from_time",
     "SELECT toStartOfInterval(toDateTime(toDateTime(1415792726)), INTERVAL 60 second) AS from_time"),
    ("SELECT $__timeInterval_ms($__fromTime_ms)",
     "SELECT toStartOfInterval(toDateTime64(fromUnixTimestamp64Milli(1415792726123), 3), INTERVAL 60000 millisecond)"),
    ("select * from foo where $__timeFilter(coalesce(closed_at, $__toTime))",
     "select * from foo where coalesce(closed_at, toDateTime(1447328726)) >= toDateTime(1415792726) AND "
     "coalesce(closed_at, toDateTime(1447328726)) <= toDateTime(1447328726)"),
])
def test_a_macro_inside_another_macros_argument_expands_first(sql, expanded):
    assert expand(sql) == expanded


# --- comments ----------------------------------------------------------------------------------------

def test_comments_are_blanked_so_a_macro_inside_one_is_neither_expanded_nor_an_error():
    sql = "SELECT 1 -- $__timeFilter( is broken here\nWHERE $__timeFilter(ts) /* $__dateFilter() */ AND 1"
    expanded = expand(sql)
    assert expanded == ("SELECT 1 " + " " * len("-- $__timeFilter( is broken here") + "\nWHERE "
                        "ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726) "
                        + " " * len("/* $__dateFilter() */") + " AND 1")


def test_an_unclosed_block_comment_runs_to_the_end_and_a_line_comment_to_cr_or_lf():
    assert blank_comments("a /* $__timeFilter(\nb") == "a " + " " * len("/* $__timeFilter(\nb")
    assert blank_comments("a -- x\rb -- y\nc") == "a     \rb     \nc"


@pytest.mark.parametrize("sql, expanded", [
    ("select * from foo where msg = 'it\\'s -- fine' and $__fromTime",
     "select * from foo where msg = 'it\\'s -- fine' and toDateTime(1415792726)"),
    ("select * from foo where msg = 'a\\'/*x' and $__toTime",
     "select * from foo where msg = 'a\\'/*x' and toDateTime(1447328726)"),
    ("select * from foo where msg = 'it''s' and $__fromTime",
     "select * from foo where msg = 'it''s' and toDateTime(1415792726)"),
])
def test_comment_markers_inside_string_literals_are_text(sql, expanded):
    assert expand(sql) == expanded


# --- arguments ---------------------------------------------------------------------------------------

def test_quoted_parentheses_and_commas_inside_an_argument_are_text():
    assert expand("$__timeFilter(parseDateTimeBestEffort(concat(d, ')', ' ,(')))") == (
        "parseDateTimeBestEffort(concat(d, ')', ' ,(')) >= toDateTime(1415792726) AND "
        "parseDateTimeBestEffort(concat(d, ')', ' ,(')) <= toDateTime(1447328726)")
    assert expand('$__dateTimeFilter(d, t) AND $__timeFrom("odd)name")') == (
        "(d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')) AND "
        "(t >= toDateTime(1415792726) AND t <= toDateTime(1447328726)) AND \"odd)name\" >= toDateTime(1415792726)")


@pytest.mark.parametrize("sql, message", [
    ("$__timeFrom", r"\$__timeFrom expected 1 argument\(s\), received 0"),
    ("$__timeTo()", r"\$__timeTo expected 1 argument\(s\), received 0"),
    ("$__dt(d)", r"\$__dt expected 2 argument\(s\), received 1"),
    ("$__dateTimeFilter(d, t, x)", r"\$__dateTimeFilter expected 2 argument\(s\), received 3"),
    ("$__timeGroup(ts)", r"\$__timeGroup expected 2 argument\(s\), received 1"),
    ("$__timeGroup(ts, not-a-duration)", r"invalid interval 'not-a-duration'"),
    ("$__timeGroup(ts, 1d)", r"invalid interval '1d'"),  # Go durations have no days
    ("$__timeGroup(ts, 0s)", r"interval must be positive"),
    ("$__timeFilter(concat(')', ts)", r"\$__timeFilter expected 1 argument\(s\), received 0 \(its \( is never closed\)"),
    ("$__table", r"\$__table: no table name in query context"),
    ("$__column", r"\$__column: no column name in query context"),
])
def test_macros_the_plugin_refuses_are_clear_errors(sql, message):
    with pytest.raises(MacroError, match=message):
        expand(f"SELECT 1 WHERE {sql}")


# --- $__conditionalAll (the plugin's front end) -------------------------------------------------------

def test_the_plugins_conditional_all_examples():
    sql = "select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal);"
    assert apply_conditional_all(sql, {"fieldVal": Variable("fieldVal", ALL)}) == "select stuff from table where 1=1;"
    chosen = {"fieldVal": Variable("fieldVal", "'val1', 'val2'")}
    assert apply_conditional_all(sql, chosen) == "select stuff from table where fieldVal in ($fieldVal);"
    both = ("select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal) and "
            "$__conditionalAll(fieldVal in ($fieldVal2), $fieldVal2);")
    variables = {**chosen, "fieldVal2": Variable("fieldVal2", ALL)}
    assert apply_conditional_all(both, variables) == "select stuff from table where fieldVal in ($fieldVal) and 1=1;"


@pytest.mark.parametrize("reference, found", [
    ("${account}", True), ("$account", True), (" '$account' ", True),
    ("${account:singlequote}", False), ("[[account]]", False),
])
def test_conditional_all_finds_the_variable_as_the_plugins_regex_does(reference, found):
    sql = f"$__conditionalAll(a IN ($account),{reference})"
    result = apply_conditional_all(sql, {"account": Variable("account", (ALL,))})
    assert result == ("1=1" if found else "a IN ($account)")


def test_conditional_all_replacement_follows_javascript_replace_patterns():
    # The plugin substitutes with String.prototype.replace: "$$" in the kept condition becomes "$".
    assert apply_conditional_all("$__conditionalAll(x = '$$', $v)", {"v": Variable("v", "1")}) == "x = '$'"


def test_a_dashboard_query_and_an_alert_query_differ_only_by_the_front_end():
    sql = "SELECT 1 WHERE $__conditionalAll(a IN ($v), $v) AND $__timeFrom(ts) -- $v\n"
    variables = [Variable("v", (ALL,), ("x",))]
    assert clickhouse_sql(sql, RANGE, variables) == \
        "SELECT 1 WHERE 1=1 AND ts >= toDateTime(1415792726) " + " " * len("-- 'x'") + "\n"
    # Alerting sends the query to the plugin's back end as written: $__conditionalAll is unknown there.
    assert alert_sql(sql, RANGE) == \
        "SELECT 1 WHERE $__conditionalAll(a IN ($v), $v) AND ts >= toDateTime(1415792726) " + " " * len("-- $v") + "\n"
