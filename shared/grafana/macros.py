"""The SQL Grafana sends to ClickHouse for a panel or alert query, computed exactly as Grafana 11
with the official ClickHouse plugin computes it (version ``PLUGIN_VERSION``, which
docker-compose.yml pins), in the same three steps:

1. the plugin's front end turns ``$__conditionalAll(expr, $var)`` into ``1=1`` when the variable
   is All or empty, else into ``expr`` (:func:`apply_conditional_all`);
2. Grafana's template service substitutes template variables (``$var``, ``${var}``,
   ``${var:format}``, ``[[var]]``) and built-ins such as ``$__from`` (:func:`substitute_variables`);
3. the plugin's back end blanks SQL comments, then expands its macros, ``$__timeFilter(column)``
   and the rest, with the query's time range and interval (:func:`expand_plugin_macros`).
   Unknown macros stay as they are; a known macro called wrongly fails the query.

:func:`clickhouse_sql` runs all three (a dashboard panel); an alert rule's query reaches the back
end directly (:func:`alert_sql`). Grafana does not escape backslashes when it quotes a
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
PLUGIN_VERSION = "4.20.0"  # grafana-clickhouse-datasource: what this module reproduces


class MacroError(ValueError):
    """A query the plugin refuses to expand, with its reason."""


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


# The plugin finds the variable in the second argument with this regex (JavaScript \w is ASCII):
# the first ``${name}`` or ``$name`` anywhere in it; ``${name:format}`` and ``[[name]]`` name none.
_CONDITIONAL_VARIABLE = re.compile(r"(?<=\$\{)\w+(?=\})|(?<=\$)\w+", re.ASCII)


def apply_conditional_all(sql: str, variables: Mapping[str, Variable]) -> str:
    """``$__conditionalAll(expr, $var)`` → ``1=1`` if ``var`` is All or empty, else ``expr``.

    As the plugin does it: last occurrence first, arguments split at commas outside parentheses
    (quotes are not looked at), ``expr`` untrimmed, the variable found by its regex; an unknown
    variable keeps ``expr``; a call without exactly two arguments stops the whole step."""
    index = sql.rfind(_CONDITIONAL_ALL)
    while index != -1:
        args = _frontend_macro_args(sql, index + len(_CONDITIONAL_ALL) - 1)
        if len(args) != 2:
            return sql
        found = _CONDITIONAL_VARIABLE.search(args[1].strip())
        variable = variables.get(found.group()) if found else None
        phrase = args[0]
        if variable is not None and _js_string(variable.current) in ("", ALL):
            phrase = "1=1"
        sql = _js_replace_first(sql, f"{_CONDITIONAL_ALL}{args[0]},{args[1]})", phrase)
        index = sql.rfind(_CONDITIONAL_ALL)
    return sql


def _js_replace_first(text: str, pattern: str, replacement: str) -> str:
    """JavaScript's ``text.replace(pattern, replacement)`` for a string pattern: the first
    occurrence, with the replacement's ``$$``, ``$&``, ``$` `` and ``$'`` patterns applied."""
    at = text.find(pattern)
    if at == -1:
        return text
    before, after = text[:at], text[at + len(pattern):]
    special = {"$": "$", "&": pattern, "`": before, "'": after}
    expanded = re.sub(r"\$([$&`'])", lambda m: special[m.group(1)], replacement)
    return before + expanded + after


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

@dataclass(frozen=True)
class _Context:
    time_range: TimeRange
    interval_ms: int

    @property
    def interval_s(self) -> int:
        return max(self.interval_ms // 1000, 1)


def _to_date(t: datetime) -> str:
    # The plugin formats the date in its process's time zone: docker-compose runs Grafana with TZ=UTC.
    return f"toDate('{t.astimezone(timezone.utc):%Y-%m-%d}')"


def _to_datetime(t: datetime) -> str:
    return f"toDateTime({_epoch_ms(t) // 1000})"


def _to_datetime64(t: datetime) -> str:
    return f"fromUnixTimestamp64Milli({_epoch_ms(t)})"


def _arguments(name: str, args: list[str], wanted: int) -> list[str]:
    if len(args) != wanted:
        raise MacroError(f"$__{name} expected {wanted} argument(s), received {len(args)}")
    return args


def _between(column: str, low: str, high: str) -> str:
    return f"{column} >= {low} AND {column} <= {high}"


def _time_filter(c: _Context, a: list[str]) -> str:
    [column] = _arguments("timeFilter", a, 1)
    return _between(column, _to_datetime(c.time_range.start), _to_datetime(c.time_range.end))


def _time_filter_ms(c: _Context, a: list[str]) -> str:
    [column] = _arguments("timeFilter_ms", a, 1)
    return _between(column, _to_datetime64(c.time_range.start), _to_datetime64(c.time_range.end))


def _date_filter(c: _Context, a: list[str]) -> str:
    [column] = _arguments("dateFilter", a, 1)
    return _between(column, _to_date(c.time_range.start), _to_date(c.time_range.end))


def _date_time_filter(name: str) -> Callable[[_Context, list[str]], str]:
    def expand(c: _Context, a: list[str]) -> str:
        day, moment = _arguments(name, a, 2)
        return (f"({_between(day, _to_date(c.time_range.start), _to_date(c.time_range.end))}) AND "
                f"({_between(moment, _to_datetime(c.time_range.start), _to_datetime(c.time_range.end))})")
    return expand


def _time_from(c: _Context, a: list[str]) -> str:
    [column] = _arguments("timeFrom", a, 1)
    return f"{column} >= {_to_datetime(c.time_range.start)}"


def _time_to(c: _Context, a: list[str]) -> str:
    [column] = _arguments("timeTo", a, 1)
    return f"{column} <= {_to_datetime(c.time_range.end)}"


def _time_interval(c: _Context, a: list[str]) -> str:
    [column] = _arguments("timeInterval", a, 1)
    return f"toStartOfInterval(toDateTime({column}), INTERVAL {c.interval_s} second)"


def _time_interval_ms(c: _Context, a: list[str]) -> str:
    [column] = _arguments("timeInterval_ms", a, 1)
    return f"toStartOfInterval(toDateTime64({column}, 3), INTERVAL {max(c.interval_ms, 1)} millisecond)"


_GO_DURATION_UNITS_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_GO_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


def _go_duration_s(text: str) -> float:
    """Go's time.ParseDuration ("90s", "1h30m", "1.5h"; no days), in seconds."""
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.removeprefix("+"))
    if body == "0":
        return 0.0
    parts = _GO_DURATION.findall(body)
    if not parts or "".join(number + unit for number, unit in parts) != body:
        raise MacroError(f"$__timeGroup: invalid interval {text!r} (a Go duration such as 5m, 1h or 90s)")
    return sign * sum(float(number) * _GO_DURATION_UNITS_S[unit] for number, unit in parts)


def _time_group(c: _Context, a: list[str]) -> str:
    column, period = _arguments("timeGroup", a, 2)
    period = period.strip().strip("'\"")
    seconds = round(_go_duration_s(period))
    if seconds <= 0:
        raise MacroError(f"$__timeGroup: interval must be positive, got {period!r}")
    return f"toStartOfInterval(toDateTime({column.strip()}), INTERVAL {seconds} second)"


def _go_format_duration(ms: int) -> str:
    """The macro library's FormatDuration: the largest unit that divides the interval exactly."""
    for size, unit in ((3_600_000, "h"), (60_000, "m"), (1000, "s")):
        if ms % size == 0:
            return f"{ms // size}{unit}" if ms else "0s"
    return f"{ms}ms"


def _no_context(name: str, what: str) -> Callable[[_Context, list[str]], str]:
    def refuse(c: _Context, a: list[str]) -> str:
        raise MacroError(f"$__{name}: no {what} name in query context (SQL editor queries have none)")
    return refuse


PLUGIN_MACROS: dict[str, Callable[[_Context, list[str]], str]] = {
    "fromTime": lambda c, a: _to_datetime(c.time_range.start),
    "toTime": lambda c, a: _to_datetime(c.time_range.end),
    "fromTime_ms": lambda c, a: _to_datetime64(c.time_range.start),
    "toTime_ms": lambda c, a: _to_datetime64(c.time_range.end),
    "timeFilter": _time_filter,
    "timeFilter_ms": _time_filter_ms,
    "dateFilter": _date_filter,
    "dateTimeFilter": _date_time_filter("dateTimeFilter"),
    "dt": _date_time_filter("dt"),
    "timeFrom": _time_from,
    "timeTo": _time_to,
    "timeGroup": _time_group,
    "timeInterval": _time_interval,
    "timeInterval_ms": _time_interval_ms,
    "interval_s": lambda c, a: str(c.interval_s),
    # On a dashboard Grafana's template service replaces these two first (step 2); an alert
    # rule's query reaches the plugin with them.
    "interval": lambda c, a: _go_format_duration(c.interval_ms),
    "interval_ms": lambda c, a: str(c.interval_ms),
    "table": _no_context("table", "table"),
    "column": _no_context("column", "column"),
}
# Longest names first, so $__timeFilter_ms is never read as $__timeFilter.
_MACRO_ORDER = sorted(PLUGIN_MACROS, key=lambda name: (-len(name), name))
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def blank_comments(sql: str) -> str:
    """The plugin's first step: every ``-- …`` (to the end of the line) and ``/* … */`` (to the
    end of the query if never closed) becomes as many spaces, so a macro inside a comment is
    never expanded; string literals ('…' and "…", with doubled-quote and backslash escapes)
    are kept whole, so ``--`` inside a string is not a comment."""
    out: list[str] = []
    i = 0
    while i < len(sql):
        char, pair = sql[i], sql[i:i + 2]
        if char in "'\"":
            end = _string_end(sql, i)
        elif pair == "--":
            end = next((j for j in range(i, len(sql)) if sql[j] in "\r\n"), len(sql))
        elif pair == "/*":
            close = sql.find("*/", i + 2)
            end = len(sql) if close == -1 else close + 2
        else:
            out.append(char)
            i += 1
            continue
        out.append(sql[i:end] if char in "'\"" else " " * (end - i))
        i = end
    return "".join(out)


def _string_end(sql: str, start: int) -> int:
    """The index after the string literal opening at ``start`` (the end of ``sql`` if unclosed)."""
    quote, i = sql[start], start + 1
    while i < len(sql):
        if sql[i] == "\\":
            i += 2
        elif sql[i] == quote and sql[i + 1:i + 2] == quote:
            i += 2
        elif sql[i] == quote:
            return i + 1
        else:
            i += 1
    return len(sql)


def _closing_paren(sql: str, open_paren: int) -> int:
    """The index of the ")" closing the "(" at ``open_paren``, outside string literals; -1 if none."""
    depth, i = 0, open_paren
    while i < len(sql):
        char = sql[i]
        if char in "'\"":
            i = _string_end(sql, i)
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return i
        i += 1
    return -1


def _split_arguments(raw: str) -> list[str]:
    """Arguments at top-level commas (not inside parentheses or string literals), trimmed."""
    raw = raw.strip()
    if not raw:
        return []
    args, depth, start, i = [], 0, 0, 0
    while i < len(raw):
        char = raw[i]
        if char in "'\"":
            i = _string_end(raw, i)
            continue
        if char in "()":
            depth += 1 if char == "(" else -1
        elif char == "," and depth == 0:
            args.append(raw[start:i].strip())
            start = i + 1
        i += 1
    return [*args, raw[start:].strip()]


def _expand(sql: str, context: _Context) -> str:
    for name in _MACRO_ORDER:
        token = f"$__{name}"
        out, rest = [], sql
        while (at := rest.find(token)) != -1:
            after = at + len(token)
            if rest[after:after + 1] in _NAME_CHARS:  # the start of a longer name
                out.append(rest[:after])
                rest = rest[after:]
                continue
            out.append(rest[:at])
            rest, args, unclosed = rest[after:], [], False
            if rest.startswith("("):
                close = _closing_paren(rest, 0)
                if close == -1:
                    unclosed = True  # the plugin then calls the macro without arguments
                else:
                    # A macro inside an argument is expanded first (innermost first).
                    args, rest = _split_arguments(_expand(rest[1:close], context)), rest[close + 1:]
            try:
                out.append(PLUGIN_MACROS[name](context, args))
            except MacroError as exc:
                raise MacroError(f"{exc}{' (its ( is never closed)' if unclosed else ''}") from None
        sql = "".join(out) + rest
    return sql


def expand_plugin_macros(sql: str, time_range: TimeRange, interval_ms: int) -> str:
    """The plugin's back end: comments blanked, then every known macro expanded, longest names
    first, each at every occurrence (also inside string literals, as the plugin does), a macro
    inside another's arguments first; arguments split at top-level commas (quoted commas and
    parentheses are text) and trimmed. A known macro with the wrong arguments is a
    :class:`MacroError` (the plugin fails the query); unknown ``$__names`` stay as they are."""
    return _expand(blank_comments(sql), _Context(time_range, interval_ms))


# --- all together, and the query interval ----------------------------------------------------------

def clickhouse_sql(raw_sql: str, time_range: TimeRange, variables: Iterable[Variable] = (),
                   interval_ms: int = 1000) -> str:
    """The SQL the ClickHouse plugin runs for ``raw_sql`` in a dashboard with ``variables``."""
    by_name = {variable.name: variable for variable in variables}
    sql = apply_conditional_all(raw_sql, by_name)
    sql = substitute_variables(sql, by_name, builtin_variables(time_range, interval_ms))
    return expand_plugin_macros(sql, time_range, interval_ms)


def alert_sql(raw_sql: str, time_range: TimeRange, interval_ms: int = 1000) -> str:
    """The SQL the plugin runs for an alert rule's query: Grafana's alerting sends it to the
    back end as written (no front end, no template variables), so only the macros expand."""
    return expand_plugin_macros(raw_sql, time_range, interval_ms)


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
