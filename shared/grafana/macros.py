"""The SQL Grafana sends to ClickHouse for a panel or alert query, computed exactly as Grafana 11
with the official ClickHouse plugin (v4) computes it, in the same three steps:

1. the plugin's front end turns ``$__conditionalAll(expr, $var)`` into ``1=1`` when the variable
   is All or empty, else into ``expr`` (:func:`apply_conditional_all`);
2. Grafana's template service substitutes template variables (``$var``, ``${var}``,
   ``${var:format}``, ``[[var]]``) and built-ins such as ``$__from`` (:func:`substitute_variables`);
3. the plugin's back end expands its macros, ``$__timeFilter(column)`` and the rest, with the
   query's time range and interval (:func:`expand_plugin_macros`). Unknown macros stay as they are.

:func:`clickhouse_sql` runs all three. Grafana does not escape backslashes when it quotes a
value, and ClickHouse reads a backslash in a string literal as an escape: so the dashboards give
their ``account`` variable hex-encoded values (``hex(account)``), which need no escaping at all.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

ALL = "$__all"  # the value Grafana gives a variable when "All" is selected


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("time range bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"time range ends ({self.end}) before it starts ({self.start})")

    @property
    def from_ms(self) -> int:
        return _epoch_ms(self.start)

    @property
    def to_ms(self) -> int:
        return _epoch_ms(self.end)


@dataclass(frozen=True)
class Variable:
    """A template variable's state: its current value (a tuple when multi-valued, ``ALL`` or
    ``(ALL,)`` for All) and its options' values (what All stands for)."""

    name: str
    current: str | tuple[str, ...]
    options: tuple[str, ...] = ()
    all_value: str | None = None  # the variable's custom "allValue", if it has one

    @property
    def is_all(self) -> bool:
        return self.current == ALL or (isinstance(self.current, tuple) and self.current[:1] == (ALL,))


# --- 1. $__conditionalAll (the plugin's front end) -----------------------------------------------

_CONDITIONAL_ALL = "$__conditionalAll("


def apply_conditional_all(sql: str, variables: Mapping[str, Variable]) -> str:
    """``$__conditionalAll(expr, $var)`` → ``1=1`` if ``var`` is All or empty, else ``expr``.

    Innermost/last occurrence first, arguments untrimmed, the variable named by stripping the
    first character of the second argument: as the plugin does it."""
    index = sql.rfind(_CONDITIONAL_ALL)
    while index != -1:
        args = _frontend_macro_args(sql, index + len(_CONDITIONAL_ALL) - 1)
        if len(args) != 2:
            return sql
        variable = variables.get(args[1].strip()[1:])
        phrase = args[0]
        if variable is not None and _js_string(variable.current) in ("", ALL):
            phrase = "1=1"
        sql = sql.replace(f"{_CONDITIONAL_ALL}{args[0]},{args[1]})", phrase, 1)
        index = sql.rfind(_CONDITIONAL_ALL)
    return sql


def _frontend_macro_args(sql: str, open_paren: int) -> list[str]:
    """The arguments of the macro whose "(" is at ``open_paren``; [] if it is never closed."""
    args: list[str] = []
    depth, last = 0, 1
    rest = sql[open_paren:]
    for token in re.finditer(r"[(),]", rest):
        depth += {"(": 1, ")": -1}.get(token.group(), 0)
        if token.group() == "," and depth == 1:
            args.append(rest[last:token.end() - 1])
            last = token.end()
        if depth == 0:
            args.append(rest[last:token.end() - 1])
            return args
    return []


def _js_string(value: str | tuple[str, ...]) -> str:
    return ",".join(value) if isinstance(value, tuple) else value  # JavaScript's Array.toString


# --- 2. template variables (Grafana's template service) ------------------------------------------

# Grafana's variableRegex: $name | [[name:format]] | ${name.fieldPath:format}
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}", re.ASCII)


def _quoted(value: str | tuple[str, ...], quote: str, escaped: str) -> str:
    values = value if isinstance(value, tuple) else (value,)
    return ",".join(quote + v.replace(quote, escaped) + quote for v in values)


def _joined(value: str | tuple[str, ...]) -> str:
    return ",".join(value) if isinstance(value, tuple) else value


# Grafana's variable formats (``${var:format}``) that the project's queries may use.
FORMATS: dict[str, Callable[[str | tuple[str, ...]], str]] = {
    "singlequote": lambda v: _quoted(v, "'", "\\'"),
    "doublequote": lambda v: _quoted(v, '"', '\\"'),
    "sqlstring": lambda v: _quoted(v, "'", "''"),
    "csv": _joined,
    "raw": _joined,
}


def clickhouse_default_format(value: str | tuple[str, ...]) -> str:
    """The ClickHouse plugin's format for a variable without ``:format``: a multi-value
    variable becomes ``'a','b'`` (unescaped), a single value stays as it is."""
    return "'" + "','".join(value) + "'" if isinstance(value, tuple) else value


def builtin_variables(time_range: TimeRange, interval_ms: int) -> dict[str, str]:
    """Grafana's global variables for a query over ``time_range`` with ``interval_ms``."""
    range_ms = time_range.to_ms - time_range.from_ms
    return {
        "__from": str(time_range.from_ms),
        "__to": str(time_range.to_ms),
        "__interval": seconds_to_hms(interval_ms / 1000),
        "__interval_ms": str(interval_ms),
        "__range": f"{round(range_ms / 1000)}s",
        "__range_s": str(round(range_ms / 1000)),
        "__range_ms": str(range_ms),
    }


def substitute_variables(text: str, variables: Mapping[str, Variable], builtins: Mapping[str, str],
                         default_format: Callable[[str | tuple[str, ...]], str] = clickhouse_default_format) -> str:
    """Replace every variable reference Grafana would replace; leave the rest (macros) alone."""
    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if name in builtins:
            if fmt:
                raise ValueError(f"${{{name}:{fmt}}}: formats of built-in variables are not supported")
            return builtins[name]
        variable = variables.get(name)
        if variable is None:
            return match.group(0)
        value: str | tuple[str, ...] = variable.current
        if variable.is_all:
            if variable.all_value is not None:  # Grafana leaves a custom all value unformatted
                return substitute_variables(variable.all_value, variables, builtins, default_format)
            value = tuple(option for option in variable.options if option != ALL)
        if fmt is None:
            return default_format(value)
        if fmt not in FORMATS:
            raise ValueError(f"${{{name}:{fmt}}}: variable format {fmt!r} is not supported here "
                             f"(supported: {', '.join(sorted(FORMATS))})")
        return FORMATS[fmt](value)

    return _VARIABLE.sub(replace, text)


# --- 3. the plugin's macros (its back end) -------------------------------------------------------

def _to_date(t: datetime) -> str:
    return f"toDate('{t.astimezone(timezone.utc):%Y-%m-%d}')"


def _to_datetime(t: datetime) -> str:
    return f"toDateTime({_epoch_ms(t) // 1000})"


def _to_datetime64(t: datetime) -> str:
    return f"fromUnixTimestamp64Milli({_epoch_ms(t)})"


def _one_column(name: str, args: list[str]) -> str:
    if len(args) != 1:
        raise ValueError(f"$__{name}: expected 1 argument, received {len(args)}")
    return args[0]


def _between(column: str, low: str, high: str) -> str:
    return f"{column} >= {low} AND {column} <= {high}"


_Macro = Callable[[TimeRange, int, list[str]], str]
PLUGIN_MACROS: dict[str, _Macro] = {
    "fromTime": lambda r, i, a: _to_datetime(r.start),
    "toTime": lambda r, i, a: _to_datetime(r.end),
    "fromTime_ms": lambda r, i, a: _to_datetime64(r.start),
    "toTime_ms": lambda r, i, a: _to_datetime64(r.end),
    "timeFilter": lambda r, i, a: _between(_one_column("timeFilter", a), _to_datetime(r.start), _to_datetime(r.end)),
    "timeFilter_ms": lambda r, i, a: _between(_one_column("timeFilter_ms", a), _to_datetime64(r.start),
                                              _to_datetime64(r.end)),
    "dateFilter": lambda r, i, a: _between(_one_column("dateFilter", a), _to_date(r.start), _to_date(r.end)),
    "timeInterval": lambda r, i, a: (f"toStartOfInterval(toDateTime({_one_column('timeInterval', a)}), "
                                     f"INTERVAL {max(i // 1000, 1)} second)"),
    "timeInterval_ms": lambda r, i, a: (f"toStartOfInterval(toDateTime64({_one_column('timeInterval_ms', a)}, 3), "
                                        f"INTERVAL {max(i, 1)} millisecond)"),
    "interval_s": lambda r, i, a: str(max(i // 1000, 1)),
}


def expand_plugin_macros(sql: str, time_range: TimeRange, interval_ms: int) -> str:
    """Expand the plugin's macros, longest names first (so ``$__timeFilter_ms`` is not read as
    ``$__timeFilter``); arguments split at top-level commas and trimmed."""
    for name in sorted(PLUGIN_MACROS, key=len, reverse=True):
        for full, args in _backend_macro_matches(sql, name):
            sql = sql.replace(full, PLUGIN_MACROS[name](time_range, interval_ms, args))
    return sql


def _backend_macro_matches(sql: str, name: str) -> list[tuple[str, list[str]]]:
    matches = []
    for found in re.finditer(rf"\$__{name}\b", sql, re.ASCII):
        args, length = _backend_macro_args(sql[found.end():])
        if length < 0:
            raise ValueError(f"$__{name}: failed to parse macro arguments (missing close bracket?)")
        matches.append((sql[found.start():found.end() + length], args))
    return matches


def _backend_macro_args(rest: str) -> tuple[list[str], int]:
    if not rest.startswith("("):
        return [], 0
    args: list[str] = []
    depth, current = 0, []
    for index, char in enumerate(rest):
        if char == "(":
            depth += 1
            if depth == 1:
                continue
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(current).strip())
                return args, index + 1
        elif char == "," and depth == 1:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    return [], -1


# --- all together, and the query interval ----------------------------------------------------------

def clickhouse_sql(raw_sql: str, time_range: TimeRange, variables: Iterable[Variable] = (),
                   interval_ms: int = 1000) -> str:
    """The SQL the ClickHouse plugin runs for ``raw_sql`` in a dashboard with ``variables``."""
    by_name = {variable.name: variable for variable in variables}
    sql = apply_conditional_all(raw_sql, by_name)
    sql = substitute_variables(sql, by_name, builtin_variables(time_range, interval_ms))
    return expand_plugin_macros(sql, time_range, interval_ms)


_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000,
             "M": 2_592_000_000, "y": 31_536_000_000}


def interval_to_ms(text: str) -> int:
    """A Grafana interval string ("30s", "1d", ">5m") in milliseconds."""
    found = re.fullmatch(r">?\s*(\d+)(ms|s|m|h|d|w|M|y)", text.strip())
    if not found:
        raise ValueError(f"not a Grafana interval: {text!r}")
    return int(found.group(1)) * _UNITS_MS[found.group(2)]


# Grafana's roundInterval: (upper bound of the raw interval, interval it rounds to), in ms.
_ROUNDED = [(15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1_500, 1_000),
            (3_500, 2_000), (7_500, 5_000), (12_500, 10_000), (17_500, 15_000), (25_000, 20_000),
            (45_000, 30_000), (90_000, 60_000), (450_000, 300_000), (1_200_000, 600_000),
            (2_700_000, 1_800_000), (5_400_000, 3_600_000), (9_000_000, 7_200_000),
            (16_200_000, 10_800_000), (32_400_000, 21_600_000), (86_400_000, 43_200_000),
            (604_800_000, 86_400_000), (1_814_400_000, 604_800_000), (3_628_800_000, 2_592_000_000)]


def query_interval_ms(time_range: TimeRange, max_data_points: int, min_interval: str | None = None) -> int:
    """Grafana's calculateInterval: the range over the panel's resolution, rounded to a
    readable step, never below the panel's (or data source's) minimum interval."""
    raw = (time_range.to_ms - time_range.from_ms) / max(max_data_points, 1)
    interval = next((rounded for bound, rounded in _ROUNDED if raw < bound), 31_536_000_000)
    return max(interval, interval_to_ms(min_interval) if min_interval else 1)


def seconds_to_hms(seconds: float) -> str:
    """Grafana's secondsToHms: the largest whole unit ("1d", "5m"), as ``$__interval`` shows it."""
    for unit, size, period in (("y", 31_536_000, math.inf), ("d", 86_400, 31_536_000), ("h", 3_600, 86_400),
                               ("m", 60, 3_600), ("s", 1, 60)):
        whole = math.floor(seconds % period / size)
        if whole:
            return f"{whole}{unit}"
    milliseconds = math.floor(seconds * 1000)
    return f"{milliseconds}ms" if milliseconds else "less than a millisecond"


def _epoch_ms(t: datetime) -> int:
    delta = t - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
