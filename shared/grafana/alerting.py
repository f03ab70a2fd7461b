"""Grafana-managed alert rules, evaluated as Grafana's server-side expressions evaluate them.

A SQL query answering a table becomes a set of labelled numbers (one per row: string columns
are the labels, the single numeric column the value), then the rule's expressions run in order
(``reduce``, ``threshold``) and the condition's numbers that are not 0 are the firing instances.
The annotation templates are rendered for them with the subset of Grafana's template language
the project's rules use.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import quote_plus

EXPRESSION_DATASOURCE = "__expr__"


class RuleError(ValueError):
    """A rule or a query result Grafana would refuse, with the reason."""


@dataclass(frozen=True)
class Field:
    """A column of a query result, classified as Grafana's data frames classify it."""

    name: str
    kind: str  # "string", "number", or anything else (times, booleans, arrays…)
    values: Sequence[Any]


@dataclass(frozen=True)
class Number:
    labels: tuple[tuple[str, str], ...]
    value: float | None

    @property
    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


def numbers_from_table(fields: Sequence[Field]) -> list[Number]:
    """Grafana's conversion of a table to alert instances: exactly one numeric column, every
    other column a string (it becomes a label)."""
    numeric = [f for f in fields if f.kind == "number"]
    others = [f.name for f in fields if f.kind not in ("string", "number")]
    if len(numeric) != 1 or others:
        raise RuleError(f"an alert query must return one numeric column and string columns only; got numeric "
                        f"{[f.name for f in numeric]}, neither numeric nor string {others}")
    labels = [f for f in fields if f.kind == "string"]
    rows = len(numeric[0].values)
    numbers = []
    for row in range(rows):
        value = numeric[0].values[row]
        numbers.append(Number(tuple((f.name, "" if f.values[row] is None else str(f.values[row])) for f in labels),
                              None if value is None else float(value)))
    if len({n.labels for n in numbers}) != len(numbers):
        raise RuleError("an alert query returned two rows with the same labels")
    return numbers


def _is_number(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _reduce(model: Mapping[str, Any], inputs: list[Number]) -> list[Number]:
    # On numbers (rather than time series) every reducer is a no-op; only the mode applies.
    settings = model.get("settings") or {}
    mode = settings.get("mode", "")
    if mode == "dropNN":
        return [n for n in inputs if _is_number(n.value)]
    if mode == "replaceNN":
        replacement = float(settings["replaceWithValue"])
        return [n if _is_number(n.value) else Number(n.labels, replacement) for n in inputs]
    if mode:
        raise RuleError(f"unknown reduce mode {mode!r}")
    return inputs


_EVALUATORS: dict[str, Callable[[float, list[float]], bool]] = {
    "gt": lambda v, p: v > p[0],
    "lt": lambda v, p: v < p[0],
    "within_range": lambda v, p: p[0] < v < p[1],
    "outside_range": lambda v, p: v < p[0] or v > p[1],
}


def _threshold(model: Mapping[str, Any], inputs: list[Number]) -> list[Number]:
    conditions = model.get("conditions") or []
    if len(conditions) != 1:
        raise RuleError("a threshold expression has exactly one condition")
    evaluator = conditions[0]["evaluator"]
    test = _EVALUATORS.get(evaluator["type"])
    if test is None:
        raise RuleError(f"unsupported threshold evaluator {evaluator['type']!r}")
    params = [float(p) for p in evaluator["params"]]
    return [Number(n.labels, float(_is_number(n.value) and test(n.value, params))) for n in inputs]


EXPRESSIONS: dict[str, Callable[[Mapping[str, Any], list[Number]], list[Number]]] = {
    "reduce": _reduce,
    "threshold": _threshold,
}


def evaluate(data: Sequence[Mapping[str, Any]], query_results: Mapping[str, list[Number]]) -> dict[str, list[Number]]:
    """Run a rule's expressions over its queries' results; every refId's numbers."""
    results = dict(query_results)
    for item in data:
        if item["datasourceUid"] != EXPRESSION_DATASOURCE:
            continue
        model = item["model"]
        expression = EXPRESSIONS.get(model["type"])
        if expression is None:
            raise RuleError(f"expression type {model['type']!r} is not supported (supported: {', '.join(EXPRESSIONS)})")
        source = model["expression"].removeprefix("$")
        if source not in results:
            raise RuleError(f"{item['refId']} reads {source}, which is not computed before it")
        results[item["refId"]] = expression(model, results[source])
    return results


# --- annotations -----------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_REFERENCE = re.compile(r"\$labels\.(\w+)|\$values\.(\w+)\.Value")


def humanize(value: float) -> str:
    """Prometheus' humanize for numbers of ordinary size: 4 significant digits."""
    return f"{value:.4g}"


_FUNCTIONS: dict[str, Callable[[float], str]] = {
    "humanize": humanize,
    "humanizePercentage": lambda v: humanize(v * 100) + "%",
}
# Go's urlquery (url.QueryEscape): everything but letters, digits and -_.~ escaped, space as +.
_TEXT_FUNCTIONS: dict[str, Callable[[str], str]] = {"urlquery": lambda text: quote_plus(text, safe="")}


def render_annotation(template: str, labels: Mapping[str, str], values: Mapping[str, float | None],
                      external_url: str = "") -> str:
    """Render ``{{ $labels.x }}``, ``{{ $values.B.Value }}``, ``{{ humanizePercentage $values.B.Value }}``
    (or ``humanize``), ``{{ urlquery $labels.x }}`` and ``{{ externalURL }}`` (Grafana's root URL,
    which always ends with a slash); anything else in ``{{ }}`` is an error, so a rule cannot use
    a template this check would render wrongly."""
    def action(match: re.Match) -> str:
        words = match.group(1).split()
        if words == ["externalURL"]:
            return external_url
        function = text_function = None
        if len(words) == 2 and words[0] in _FUNCTIONS:
            function, words = _FUNCTIONS[words[0]], words[1:]
        elif len(words) == 2 and words[0] in _TEXT_FUNCTIONS:
            text_function, words = _TEXT_FUNCTIONS[words[0]], words[1:]
        reference = _REFERENCE.fullmatch(words[0]) if len(words) == 1 else None
        if reference is None:
            raise RuleError(f"unsupported template action {match.group(0)!r}")
        if reference.group(1):
            if function is not None:
                raise RuleError(f"{match.group(0)!r}: a label is text, not a number")
            text = labels.get(reference.group(1), "")
            return text_function(text) if text_function else text
        if text_function is not None:
            raise RuleError(f"{match.group(0)!r}: urlquery takes a label")
        value = values.get(reference.group(2))
        if value is None:
            return "[no value]"
        return function(value) if function else str(value)

    return _ACTION.sub(action, " ".join(template.split()))
