"""Dashboard queries as Grafana would run them: time ranges, template variables (resolved by
running their own queries), and each panel query expanded with ``shared.grafana.macros``."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from clickhouse_connect.driver.client import Client

from shared.grafana.alerting import Field
from shared.grafana.macros import ALL, TimeRange, Variable, clickhouse_sql, query_interval_ms
from shared.grafana.provisioning import CLICKHOUSE_TYPE, panels, target_datasource

GRID_COLUMN_PX = 80  # a 1920 px wide dashboard has 24 columns; Grafana's resolution is the panel width


@dataclass(frozen=True)
class Frame:
    """A query result: column names, ClickHouse type names and rows."""

    columns: list[str]
    types: list[str]
    rows: list[tuple]

    def values(self, column: str) -> list[Any]:
        index = self.columns.index(column)
        return [row[index] for row in self.rows]

    def kind(self, column: str) -> str:
        return field_kind(self.types[self.columns.index(column)])

    def fields(self) -> list[Field]:
        return [Field(name, self.kind(name), self.values(name)) for name in self.columns]


def run_sql(client: Client, sql: str) -> Frame:
    result = client.query(sql)
    return Frame(list(result.column_names), [t.name for t in result.column_types], [tuple(r) for r in result.result_rows])


def field_kind(type_name: str) -> str:
    """What Grafana makes of a ClickHouse column: "string", "number", "time" or "other"."""
    inner = type_name
    while wrapped := re.fullmatch(r"(?:Nullable|LowCardinality)\((.*)\)", inner):
        inner = wrapped.group(1)
    if inner == "String" or inner.startswith(("FixedString", "Enum")):
        return "string"
    if re.match(r"U?Int\d+$|Float(32|64)$|Decimal", inner):
        return "number"
    if inner.startswith(("Date", "DateTime")):
        return "time"
    return "other"


# --- time ranges -------------------------------------------------------------------------------

_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def relative_time(text: str, now: datetime) -> datetime:
    """A Grafana time ("now", "now-28d", "now-1h") or an ISO 8601 instant."""
    found = re.fullmatch(r"now(?:-(\d+)([smhdw]))?", text.strip())
    if found:
        amount = int(found.group(1) or 0)
        return now - timedelta(**{_UNIT[found.group(2) or "s"]: amount})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither an ISO 8601 time nor now-<n><s|m|h|d|w>") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def dashboard_time_range(dashboard: Mapping[str, Any], now: datetime) -> TimeRange:
    time = dashboard.get("time") or {"from": "now-6h", "to": "now"}
    return TimeRange(relative_time(time["from"], now), relative_time(time["to"], now))


# --- template variables ------------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    text: str
    value: str


def variable_options(client: Client, definition: Mapping[str, Any], time_range: TimeRange,
                     known: Sequence[Variable]) -> list[Option]:
    """Run a query variable's query as the ClickHouse plugin does (first column the value, the
    second, if any, the text shown)."""
    query = definition["query"] if isinstance(definition["query"], str) else definition["query"]["rawSql"]
    frame = run_sql(client, clickhouse_sql(query, time_range, known))
    values = frame.values(frame.columns[0])
    texts = frame.values(frame.columns[1]) if len(frame.columns) > 1 else values
    return [Option(str(text), str(value)) for text, value in zip(texts, values)]


def resolve_variables(client: Client, dashboard: Mapping[str, Any], time_range: TimeRange,
                      selections: Mapping[str, Sequence[str]] | None = None) -> list[Variable]:
    """The dashboard's variables with their options loaded; each set to the texts given in
    ``selections`` (as picked in the drop-down), else to All."""
    selections = selections or {}
    resolved: list[Variable] = []
    for definition in dashboard.get("templating", {}).get("list", []):
        if definition.get("type") != "query" or definition.get("datasource", {}).get("type") != CLICKHOUSE_TYPE:
            raise ValueError(f"variable {definition.get('name')!r}: only ClickHouse query variables are supported")
        options = variable_options(client, definition, time_range, resolved)
        name = definition["name"]
        wanted = selections.get(name)
        if not wanted:
            if not definition.get("includeAll"):
                raise ValueError(f"variable {name!r} has no All option: choose a value")
            current: str | tuple[str, ...] = (ALL,) if definition.get("multi") else ALL
        else:
            by_text = {option.text: option.value for option in options}
            unknown = [text for text in wanted if text not in by_text]
            if unknown:
                shown = ", ".join(sorted(by_text)[:10]) or "none"
                raise ValueError(f"{name} {', '.join(map(repr, unknown))} not among the dashboard's choices in this time "
                                 f"range ({shown}{', …' if len(by_text) > 10 else ''})")
            if len(wanted) > 1 and not definition.get("multi"):
                raise ValueError(f"variable {name!r} takes one value")
            values = tuple(by_text[text] for text in wanted)
            current = values if definition.get("multi") else values[0]
        resolved.append(Variable(name, current, tuple(o.value for o in options), definition.get("allValue") or None))
    return resolved


# --- panel queries -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PanelQuery:
    panel: dict[str, Any]
    target: dict[str, Any]
    datasource_type: str
    text: str          # the query as written in the dashboard
    interval_ms: int   # the panel's query interval (Grafana's $__interval)

    def clickhouse_sql(self, time_range: TimeRange, variables: Sequence[Variable]) -> str:
        return clickhouse_sql(self.text, time_range, variables, self.interval_ms)


def panel_queries(dashboard: Mapping[str, Any], time_range: TimeRange) -> list[PanelQuery]:
    queries = []
    for panel in panels(dict(dashboard)):
        width_px = panel.get("gridPos", {}).get("w", 12) * GRID_COLUMN_PX
        interval = query_interval_ms(time_range, int(panel.get("maxDataPoints") or width_px), panel.get("interval"))
        for target in panel.get("targets", []):
            if target.get("hide"):
                continue
            source = target_datasource(panel, target)
            text = target.get("rawSql") if source.get("type") == CLICKHOUSE_TYPE else target.get("expr")
            queries.append(PanelQuery(panel, target, source.get("type", ""), text or "", interval))
    return queries
