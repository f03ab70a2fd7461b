"""shared.grafana.macros: what Grafana 11 and the ClickHouse plugin v4 turn a query into."""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

import pytest

from shared.grafana.macros import (ALL, TimeRange, Variable, apply_conditional_all, clickhouse_sql,
                                   expand_plugin_macros, query_interval_ms, seconds_to_hms, substitute_variables)

START = datetime(2026, 11, 20, 9, 30, 15, 250_000, tzinfo=timezone.utc)
END = datetime(2026, 11, 21, 18, 0, 59, 999_000, tzinfo=timezone.utc)
RANGE = TimeRange(START, END)
FROM_S, TO_S = calendar.timegm(START.utctimetuple()), calendar.timegm(END.utctimetuple())
FROM_MS, TO_MS = FROM_S * 1000 + 250, TO_S * 1000 + 999


@pytest.mark.parametrize("macro, expanded", [
    ("$__timeFilter(ts)", f"ts >= toDateTime({FROM_S}) AND ts <= toDateTime({TO_S})"),
    ("$__timeFilter_ms(ts)", f"ts >= fromUnixTimestamp64Milli({FROM_MS}) AND ts <= fromUnixTimestamp64Milli({TO_MS})"),
    ("$__fromTime", f"toDateTime({FROM_S})"),
    ("$__toTime", f"toDateTime({TO_S})"),
    ("$__fromTime_ms", f"fromUnixTimestamp64Milli({FROM_MS})"),
    ("$__toTime_ms", f"fromUnixTimestamp64Milli({TO_MS})"),
    ("$__dateFilter(day)", "day >= toDate('2026-11-20') AND day <= toDate('2026-11-21')"),
    ("$__timeInterval(ts)", "toStartOfInterval(toDateTime(ts), INTERVAL 3600 second)"),
    ("$__timeInterval_ms(ts)", "toStartOfInterval(toDateTime64(ts, 3), INTERVAL 3600000 millisecond)"),
    ("$__interval_s", "3600"),
])
def test_each_plugin_macro_expands_as_the_plugin_does(macro, expanded):
    assert expand_plugin_macros(f"SELECT 1 WHERE {macro}", RANGE, 3_600_000) == f"SELECT 1 WHERE {expanded}"


def test_sub_second_intervals_round_to_at_least_one_unit():
    assert expand_plugin_macros("$__interval_s $__timeInterval(t) $__timeInterval_ms(t)", RANGE, 400) == (
        "1 toStartOfInterval(toDateTime(t), INTERVAL 1 second) "
        "toStartOfInterval(toDateTime64(t, 3), INTERVAL 400 millisecond)")
    assert expand_plugin_macros("$__timeInterval_ms(t)", RANGE, 0) == \
        "toStartOfInterval(toDateTime64(t, 3), INTERVAL 1 millisecond)"


def test_macro_arguments_keep_nested_parentheses_and_are_trimmed():
    assert expand_plugin_macros("$__timeFilter( toDateTime(ts, 'UTC') )", RANGE, 1000) == (
        f"toDateTime(ts, 'UTC') >= toDateTime({FROM_S}) AND toDateTime(ts, 'UTC') <= toDateTime({TO_S})")


def test_longer_macro_names_win_and_unknown_macros_stay():
    sql = "$__timeFilter_ms(a) AND $__timeFilter(b) AND $__unknown(c) AND $__fromTimeX"
    assert expand_plugin_macros(sql, RANGE, 1000) == (
        f"a >= fromUnixTimestamp64Milli({FROM_MS}) AND a <= fromUnixTimestamp64Milli({TO_MS}) AND "
        f"b >= toDateTime({FROM_S}) AND b <= toDateTime({TO_S}) AND $__unknown(c) AND $__fromTimeX")


def test_every_occurrence_is_expanded():
    assert expand_plugin_macros("$__fromTime, $__fromTime", RANGE, 1000) == f"toDateTime({FROM_S}), toDateTime({FROM_S})"


@pytest.mark.parametrize("sql, error", [
    ("$__timeFilter", r"\$__timeFilter expected 1 argument\(s\), received 0"),
    ("$__timeFilter(a, b)", r"\$__timeFilter expected 1 argument\(s\), received 2"),
    ("$__dateFilter(day", r"\$__dateFilter expected 1 argument\(s\), received 0 \(its \( is never closed\)"),
])
def test_wrong_macro_arguments_are_errors(sql, error):
    with pytest.raises(ValueError, match=error):
        expand_plugin_macros(sql, RANGE, 1000)


def test_dates_and_seconds_are_utc_whatever_the_offset_of_the_bounds():
    plus_two = timezone(timedelta(hours=2))
    shifted = TimeRange(START.astimezone(plus_two), END.astimezone(plus_two))
    assert expand_plugin_macros("$__dateFilter(d) $__fromTime", shifted, 1000) == \
        expand_plugin_macros("$__dateFilter(d) $__fromTime", RANGE, 1000)
    late = TimeRange(datetime(2026, 11, 20, 23, 30, tzinfo=timezone.utc).astimezone(plus_two), END)
    assert expand_plugin_macros("$__dateFilter(d)", late, 1000).startswith("d >= toDate('2026-11-20')")


# --- $__conditionalAll ------------------------------------------------------------------------------

CONDITIONAL = "WHERE $__conditionalAll(hex(account) IN (${account:singlequote}), $account) AND x"


@pytest.mark.parametrize("current, kept", [
    ((ALL,), False), (ALL, False), ((), False), ("", False),
    (("616D65656E61",), True), (("61", "62"), True), ("61", True),
])
def test_conditional_all_is_true_for_all_or_nothing_and_the_condition_otherwise(current, kept):
    result = apply_conditional_all(CONDITIONAL, {"account": Variable("account", current, ("61", "62"))})
    assert result == ("WHERE hex(account) IN (${account:singlequote}) AND x" if kept else "WHERE 1=1 AND x")


def test_conditional_all_with_an_unknown_variable_keeps_the_condition():
    assert apply_conditional_all("$__conditionalAll(a = 1, $nope)", {}) == "a = 1"


def test_conditional_all_handles_several_occurrences_and_nesting():
    variables = {"a": Variable("a", (ALL,)), "b": Variable("b", ("x",))}
    sql = "$__conditionalAll(f(a, g(b)) IN ($a), $a) OR $__conditionalAll(b IN ($b), $b)"
    assert apply_conditional_all(sql, variables) == "1=1 OR b IN ($b)"


def test_conditional_all_with_wrong_arguments_is_left_alone():
    sql = "$__conditionalAll(only_one)"
    assert apply_conditional_all(sql, {}) == sql


# --- template variables --------------------------------------------------------------------------------

def test_multi_value_singlequote_escapes_quotes_as_grafana_does():
    variables = {"v": Variable("v", ("o'brien", "plain"))}
    assert substitute_variables("IN (${v:singlequote})", variables, {}) == "IN ('o\\'brien','plain')"
    assert substitute_variables("IN (${v:sqlstring})", variables, {}) == "IN ('o''brien','plain')"
    assert substitute_variables("${v:csv} [[v:doublequote]]", variables, {}) == 'o\'brien,plain "o\'brien","plain"'


def test_without_a_format_the_plugin_quotes_multi_values_and_leaves_single_values():
    assert substitute_variables("IN ($v)", {"v": Variable("v", ("a", "b"))}, {}) == "IN ('a','b')"
    assert substitute_variables("= $v AND ${v}", {"v": Variable("v", "a")}, {}) == "= a AND a"


def test_all_expands_to_every_option_or_to_the_custom_all_value_unformatted():
    options = ("61", "62", "63")
    assert substitute_variables("(${v:singlequote})", {"v": Variable("v", (ALL,), options)}, {}) == "('61','62','63')"
    custom = Variable("v", (ALL,), options, all_value="any")
    assert substitute_variables("(${v:singlequote})", {"v": custom}, {}) == "(any)"


def test_unknown_names_and_plugin_macros_are_not_variables():
    sql = "$__timeFilter(ts) AND $__interval_s AND $other AND ${other:csv} AND $v"
    assert substitute_variables(sql, {"v": Variable("v", "x")}, {}) == \
        "$__timeFilter(ts) AND $__interval_s AND $other AND ${other:csv} AND x"


def test_builtins_and_unsupported_formats():
    builtins = {"__from": "1", "__interval": "1h"}
    assert substitute_variables("$__from ${__interval} $__interval_ms", {}, builtins) == "1 1h $__interval_ms"
    with pytest.raises(ValueError, match="not supported"):
        substitute_variables("${v:percentencode}", {"v": Variable("v", "x")}, {})


def test_the_whole_expansion_in_grafanas_order():
    variables = [Variable("account", ("6F27627269656E",), ("6F27627269656E", "6162"))]
    sql = ("SELECT count() FROM richness.account_daily WHERE $__dateFilter(day) AND "
           "$__conditionalAll(hex(account) IN (${account:singlequote}), $account) AND x < $__from")
    assert clickhouse_sql(sql, RANGE, variables) == (
        "SELECT count() FROM richness.account_daily WHERE day >= toDate('2026-11-20') AND day <= toDate('2026-11-21') "
        f"AND hex(account) IN ('6F27627269656E') AND x < {FROM_MS}")
    everything = [Variable("account", (ALL,), ("6F27627269656E", "6162"))]
    assert "AND 1=1 AND" in clickhouse_sql(sql, RANGE, everything)


# --- the query interval ------------------------------------------------------------------------------------

def test_interval_is_the_range_over_the_resolution_rounded_and_at_least_the_minimum():
    day = TimeRange(START, START + timedelta(days=1))
    assert query_interval_ms(day, 1000) == 60_000          # 86.4 s raw → 1 m
    assert query_interval_ms(day, 960) == 300_000          # 90 s raw → 5 m
    assert query_interval_ms(day, 1000, "5m") == 300_000   # the panel's minimum interval
    month = TimeRange(START, START + timedelta(days=28))
    assert query_interval_ms(month, 1920, "1h") == 3_600_000
    assert query_interval_ms(month, 1920) == 1_800_000


@pytest.mark.parametrize("seconds, text", [(86_400, "1d"), (5400, "1h"), (90, "1m"), (59, "59s"), (0.25, "250ms"),
                                           (31_536_000 * 2, "2y")])
def test_interval_text_as_grafana_shows_it(seconds, text):
    assert seconds_to_hms(seconds) == text
