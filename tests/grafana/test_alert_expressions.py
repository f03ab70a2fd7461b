"""shared.grafana.alerting: tables to alert instances, reduce/threshold, annotation templates."""
from __future__ import annotations

import math

import pytest

from shared.grafana.alerting import Field, Number, RuleError, evaluate, numbers_from_table, render_annotation

QUERY = {"refId": "A", "datasourceUid": "richness-clickhouse", "model": {}}
REDUCE = {"refId": "B", "datasourceUid": "__expr__",
          "model": {"type": "reduce", "expression": "A", "reducer": "last", "settings": {"mode": "dropNN"}}}
THRESHOLD = {"refId": "C", "datasourceUid": "__expr__",
             "model": {"type": "threshold", "expression": "B", "conditions": [{"evaluator": {"type": "gt", "params": [0.5]}}]}}


def table(values):
    return [Field("account", "string", [f"a{i}" for i in range(len(values))]), Field("value", "number", values)]


def test_each_row_is_an_instance_labelled_by_its_string_columns():
    numbers = numbers_from_table([Field("account", "string", ["x", None]), Field("metric", "string", ["m", "m"]),
                                  Field("value", "number", [1, None])])
    assert numbers == [Number((("account", "x"), ("metric", "m")), 1.0), Number((("account", ""), ("metric", "m")), None)]


@pytest.mark.parametrize("fields, error", [
    ([Field("a", "string", ["x"]), Field("v", "number", [1]), Field("w", "number", [2])], "one numeric column"),
    ([Field("a", "string", ["x"])], "one numeric column"),
    ([Field("day", "time", ["2026-11-20"]), Field("v", "number", [1])], "neither numeric nor string"),
    ([Field("a", "string", ["x", "x"]), Field("v", "number", [1, 2])], "same labels"),
])
def test_tables_grafana_refuses_are_errors(fields, error):
    with pytest.raises(RuleError, match=error):
        numbers_from_table(fields)


def test_reduce_drops_non_numbers_and_threshold_marks_the_firing_ones():
    results = evaluate([QUERY, REDUCE, THRESHOLD], {"A": numbers_from_table(table([0.6, 0.5, None, math.nan, 0.0]))})
    assert [n.value for n in results["B"]] == [0.6, 0.5, 0.0]
    assert [(n.label_dict["account"], n.value) for n in results["C"]] == [("a0", 1.0), ("a1", 0.0), ("a4", 0.0)]


def test_replace_mode_and_the_other_evaluators():
    replace = {**REDUCE, "model": {**REDUCE["model"], "settings": {"mode": "replaceNN", "replaceWithValue": 0.7}}}
    for evaluator, expected in [({"type": "lt", "params": [0.65]}, [1, 0]),
                                ({"type": "within_range", "params": [0.1, 0.65]}, [1, 0]),
                                ({"type": "outside_range", "params": [0.1, 0.65]}, [0, 1])]:
        threshold = {**THRESHOLD, "model": {**THRESHOLD["model"], "conditions": [{"evaluator": evaluator}]}}
        results = evaluate([QUERY, replace, threshold], {"A": numbers_from_table(table([0.6, None]))})
        assert [n.value for n in results["C"]] == expected, evaluator


def test_unsupported_expressions_are_errors_not_silence():
    math_expression = {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "math", "expression": "$A * 2"}}
    with pytest.raises(RuleError, match="not supported"):
        evaluate([QUERY, math_expression], {"A": []})
    unknown_evaluator = {**THRESHOLD, "model": {**THRESHOLD["model"], "conditions": [{"evaluator": {"type": "eq", "params": [1]}}]}}
    with pytest.raises(RuleError, match="unsupported threshold evaluator"):
        evaluate([QUERY, REDUCE, unknown_evaluator], {"A": []})
    with pytest.raises(RuleError, match="not computed before"):
        evaluate([QUERY, THRESHOLD], {"A": []})


def test_annotations_render_labels_values_and_percentages():
    template = "{{ $labels.account }} fell {{ humanizePercentage $values.B.Value }} ({{ $values.B.Value }}, {{humanize $values.B.Value}})"
    assert render_annotation(template, {"account": "o'brien"}, {"B": 0.6234567}) == \
        "o'brien fell 62.35% (0.6234567, 0.6235)"
    assert render_annotation("{{ $values.X.Value }}", {}, {}) == "[no value]"


@pytest.mark.parametrize("template", ["{{ .Labels.account }}", "{{ $value }}", "{{ humanizePercentage $labels.a }}",
                                      "{{ printf \"%.1f\" $values.B.Value }}"])
def test_templates_this_check_cannot_render_faithfully_are_errors(template):
    with pytest.raises(RuleError):
        render_annotation(template, {"a": "x"}, {"B": 1.0})
