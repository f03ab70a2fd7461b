"""Draw each dashboard of ``grafana/dashboards`` to one PNG, from the data Grafana would show.

Every ClickHouse panel query runs exactly as the plugin would send it (``shared.grafana.macros``)
as the read-only user; variables are resolved by running their own queries. Prometheus panels
query a Prometheus server when one is given (``query_range`` with Grafana's step and
``$__rate_interval``), else say so in the panel and show their queries. Panels sit on Grafana's
24-column grid, so the picture has the dashboard's layout.
"""
from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from services.dashboards.queries import (Frame, PanelQuery, dashboard_time_range, panel_queries,  # noqa: E402
                                         resolve_variables, run_sql)
from services.stack import probe  # noqa: E402
from shared.clickhouse.client import connect  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.grafana import provisioning  # noqa: E402
from shared.grafana.macros import (TimeRange, builtin_variables, interval_to_ms,  # noqa: E402
                                   substitute_variables)

COLUMN_IN, ROW_IN, HEADER_IN = 0.85, 0.42, 0.95  # inches per grid column / row, and for the title
DPI = 90
PANEL_BG, PANEL_EDGE, MUTED = "#f6f7f9", "#cfd4db", "#5b6470"
GRAFANA_COLORS = {"blue": "#3274d9", "green": "#37872d", "red": "#c4162a", "orange": "#e0752d", "purple": "#8f3bb8"}
PALETTE = ["#3274d9", "#e0752d", "#56a64b", "#c4162a", "#8f3bb8", "#1f9aa5", "#b8860b", "#6e7b8b",
           "#ff7383", "#37872d"]
MAX_TABLE_ROWS = 15
TABLE_ROW_IN = 0.235
# Grafana's default scrape interval for a Prometheus data source without "timeInterval" (ours).
DEFAULT_SCRAPE_INTERVAL = "15s"


@dataclass
class Series:
    name: str
    times: list[datetime]
    values: list[float]


@dataclass
class PanelData:
    panel: dict[str, Any]
    sources: set[str] = field(default_factory=set)     # data source types of its queries
    queries: list[str] = field(default_factory=list)   # as run (expanded)
    frames: list[Frame] = field(default_factory=list)  # ClickHouse results, one per query
    series: list[Series] = field(default_factory=list)  # Prometheus results
    note: str | None = None                             # why the panel cannot show data here


def render_dashboards(settings: Settings, out_dir: Path, time_from: datetime | None = None,
                      time_to: datetime | None = None, account: Sequence[str] | str | None = None, *,
                      prometheus_url: str | None = None, uids: Sequence[str] | None = None,
                      now: datetime | None = None, grafana_dir: Path | None = None,
                      scrape_interval: str = DEFAULT_SCRAPE_INTERVAL) -> list[Path]:
    """One PNG per dashboard (``<uid>.png`` in ``out_dir``); returns the paths.

    Without ``time_from``/``time_to`` each dashboard uses its own default range ending ``now``.
    ``account``: the account(s) to select in the ``account`` variable (default: All)."""
    now = now or datetime.now(timezone.utc)
    boards = provisioning.dashboards(grafana_dir)
    if uids:
        unknown = set(uids) - {b["uid"] for b in boards}
        if unknown:
            raise ValueError(f"no dashboard with uid {', '.join(sorted(unknown))} "
                             f"(there are {', '.join(b['uid'] for b in boards)})")
        boards = [b for b in boards if b["uid"] in uids]
    accounts = [account] if isinstance(account, str) else list(account or [])
    out_dir.mkdir(parents=True, exist_ok=True)
    client = connect(settings, reader=True)
    paths = []
    for board in boards:
        default = dashboard_time_range(board, now)
        time_range = TimeRange(time_from or default.start, time_to or default.end)
        has_accounts = any(v.get("name") == "account" for v in board.get("templating", {}).get("list", []))
        selections = {"account": accounts} if accounts and has_accounts else None
        variables = resolve_variables(client, board, time_range, selections)
        data = load_panels(client, board, time_range, variables, prometheus_url, scrape_interval)
        selection = ", ".join(accounts) if selections else "All" if has_accounts else None
        path = out_dir / f"{board['uid']}.png"
        draw_dashboard(board, time_range, data, path, selection, settings.clickhouse_reader_user, prometheus_url)
        paths.append(path)
    return paths


def load_panels(client, board: dict[str, Any], time_range: TimeRange, variables, prometheus_url: str | None,
                scrape_interval: str = DEFAULT_SCRAPE_INTERVAL) -> list[PanelData]:
    """Run every panel's queries; one PanelData per panel, in the dashboard's order."""
    data: dict[int, PanelData] = {}
    for query in panel_queries(board, time_range):
        panel_data = data.setdefault(id(query.panel), PanelData(query.panel))
        panel_data.sources.add(query.datasource_type)
        if query.datasource_type == provisioning.CLICKHOUSE_TYPE:
            sql = query.clickhouse_sql(time_range, variables)
            panel_data.queries.append(sql)
            panel_data.frames.append(run_sql(client, sql))
        elif query.datasource_type == provisioning.PROMETHEUS_TYPE:
            expr, step_s = prometheus_query(query, time_range, scrape_interval)
            panel_data.queries.append(expr)
            if prometheus_url is None:
                panel_data.note = "No Prometheus here: this panel shows live in Grafana."
            else:
                panel_data.series.extend(prometheus_series(prometheus_url, expr, query.target.get("legendFormat", ""),
                                                           time_range, step_s))
        else:
            raise ValueError(f"panel {query.panel.get('title')!r}: unsupported data source {query.datasource_type!r}")
    return list(data.values())


def prometheus_query(query: PanelQuery, time_range: TimeRange, scrape_interval: str) -> tuple[str, int]:
    """The PromQL Grafana's Prometheus data source sends, and its step in seconds: the step is
    the panel interval but at least the scrape interval; ``$__rate_interval`` is
    max(step + scrape interval, 4 × scrape interval)."""
    scrape_ms = interval_to_ms(scrape_interval)
    step_ms = max(query.interval_ms, scrape_ms)
    builtins = {**builtin_variables(time_range, step_ms),
                "__rate_interval": f"{max(step_ms + scrape_ms, 4 * scrape_ms) // 1000}s"}
    return substitute_variables(query.text, {}, builtins, lambda value: str(value)), step_ms // 1000


def prometheus_series(url: str, expr: str, legend: str, time_range: TimeRange, step_s: int) -> list[Series]:
    # Through the process's one client: a dashboard has many Prometheus panels, and a client per
    # request costs a TLS context each (services/stack/probe.py).
    response = probe.get(f"{url.rstrip('/')}/api/v1/query_range", timeout_s=30, params={
        "query": expr, "start": time_range.from_ms / 1000, "end": time_range.to_ms / 1000, "step": step_s})
    try:
        body = response.json()
    except ValueError:
        raise RuntimeError(f"Prometheus at {url} answered {response.status_code} without JSON: "
                           f"{response.text[:200]!r}") from None
    if body.get("status") != "success":
        raise RuntimeError(f"Prometheus rejected {expr!r}: {body.get('error', response.text)}")
    series = []
    for result in body["data"]["result"]:
        labels = result["metric"]
        name = (re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), legend) if legend
                else "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}")
        series.append(Series(name.strip(), [datetime.fromtimestamp(t, timezone.utc) for t, _ in result["values"]],
                             [float(v) for _, v in result["values"]]))
    return series


# --- values and units --------------------------------------------------------------------------

UNIT_NAMES = {"percentunit": "%", "s": "seconds", "reqps": "requests/s"}


def format_value(value: Any, unit: str | None = None, decimals: int | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return _utc(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if unit == "percentunit":
        return f"{value * 100:.{1 if decimals is None else decimals}f}%"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.2f} s"
    suffix = " req/s" if unit == "reqps" else ""
    if decimals is not None:
        return f"{value:,.{decimals}f}{suffix}"
    if float(value).is_integer():
        return f"{int(value):,}{suffix}"
    return f"{value:,.3g}{suffix}" if abs(value) < 100 else f"{value:,.0f}{suffix}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _as_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return _utc(value)
    return datetime.combine(value, time(), tzinfo=timezone.utc)


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def frame_series(frame: Frame, panel: dict[str, Any]) -> list[Series]:
    """Grafana's time series from a table: the time column, one series per numeric column and
    combination of the string columns' values (the plugin's long-to-wide conversion)."""
    time_column = next((c for c in frame.columns if frame.kind(c) == "time"), None)
    if time_column is None:
        raise ValueError(f"panel {panel.get('title')!r}: a time series query needs a time column")
    labels = [c for c in frame.columns if frame.kind(c) == "string"]
    numbers = [c for c in frame.columns if frame.kind(c) == "number"]
    template = panel.get("fieldConfig", {}).get("defaults", {}).get("displayName")
    series: dict[tuple, Series] = {}
    for row in frame.rows:
        record = dict(zip(frame.columns, row))
        key_labels = {c: str(record[c]) for c in labels}
        for column in numbers:
            key = (column, *key_labels.values())
            if key not in series:
                if template:
                    name = re.sub(r"\$\{__field\.labels\.(\w+)\}", lambda m: key_labels.get(m.group(1), ""), template)
                else:
                    name = " ".join([column, *key_labels.values()])
                series[key] = Series(name, [], [])
            series[key].times.append(_as_time(record[time_column]))
            series[key].values.append(_number(record[column]))
    return list(series.values())


# --- drawing -----------------------------------------------------------------------------------

def draw_dashboard(board: dict[str, Any], time_range: TimeRange, data: list[PanelData], path: Path,
                   selection: str | None, reader_user: str, prometheus_url: str | None) -> None:
    rows = max((d.panel["gridPos"]["y"] + d.panel["gridPos"]["h"] for d in data), default=8)
    width, height = 24 * COLUMN_IN, rows * ROW_IN + HEADER_IN
    figure = plt.figure(figsize=(width, height), dpi=DPI, facecolor="white")
    figure.text(0.25 / width, 1 - 0.42 / height, board["title"], fontsize=19, fontweight="bold", va="center")
    sources = {source for d in data for source in d.sources}
    subtitle = "   ·   ".join(filter(None, [
        f"{time_range.start:%Y-%m-%d %H:%M} → {time_range.end:%Y-%m-%d %H:%M} UTC",
        f"account: {selection}" if selection else None,
        f"ClickHouse queries as {reader_user}, exactly as the Grafana plugin sends them"
        if provisioning.CLICKHOUSE_TYPE in sources else None,
        (f"Prometheus: {prometheus_url}" if prometheus_url else "Prometheus: none given")
        if provisioning.PROMETHEUS_TYPE in sources else None]))
    figure.text(0.25 / width, 1 - 0.78 / height, subtitle, fontsize=10.5, color=MUTED, va="center")
    for panel_data in data:
        _draw_panel(figure, panel_data, time_range, width, height)
    figure.savefig(path, dpi=DPI, facecolor="white")
    plt.close(figure)


def _draw_panel(figure: Figure, data: PanelData, time_range: TimeRange, width: float, height: float) -> None:
    panel = data.panel
    grid = panel["gridPos"]
    pad = 0.06
    left, top = grid["x"] * COLUMN_IN + pad, HEADER_IN + grid["y"] * ROW_IN + pad
    w, h = grid["w"] * COLUMN_IN - 2 * pad, grid["h"] * ROW_IN - 2 * pad
    figure.add_artist(FancyBboxPatch((left / width, 1 - (top + h) / height), w / width, h / height,
                                     boxstyle="round,pad=0,rounding_size=0.004", transform=figure.transFigure,
                                     facecolor=PANEL_BG, edgecolor=PANEL_EDGE, linewidth=1, zorder=-10))
    figure.text((left + 0.12) / width, 1 - (top + 0.2) / height, panel.get("title", ""), fontsize=11.5,
                fontweight="bold", va="center")

    def axes(l_in: float, r_in: float, t_in: float, b_in: float):
        return figure.add_axes(((left + l_in) / width, 1 - (top + h - b_in) / height,
                                (w - l_in - r_in) / width, (h - t_in - b_in) / height))

    kind = panel["type"]
    if data.note is not None:
        _draw_note(axes(0.15, 0.15, 0.42, 0.1), data)
    elif kind == "timeseries":
        series = data.series or [s for frame in data.frames for s in frame_series(frame, panel)]
        ncol = max(1, min(len(series), int(w / 2.1)))
        legend_in = 0.24 * math.ceil(len(series) / ncol) if len(series) > 1 else 0
        _draw_timeseries(axes(0.95, 0.2, 0.45, 0.45 + legend_in), panel, series, time_range, ncol)
    elif not any(frame.rows for frame in data.frames):
        _draw_text(axes(0.15, 0.15, 0.42, 0.1), "No data", 14)
    elif kind == "stat":
        _draw_stat(axes(0.15, 0.15, 0.4, 0.1), panel, data.frames[0])
    elif kind == "table":
        _draw_table(axes(0.12, 0.12, 0.45, 0.08), panel, data.frames[0])
    elif kind == "barchart":
        _draw_barchart(axes(0.95, 0.2, 0.45, 0.5), panel, data.frames[0])
    elif kind == "bargauge":
        _draw_bargauge(axes(1.8, 0.9, 0.45, 0.4), panel, data.frames[0])
    else:
        raise ValueError(f"panel {panel.get('title')!r}: panel type {kind!r} is not drawn here")


def _defaults(panel: dict[str, Any]) -> dict[str, Any]:
    return panel.get("fieldConfig", {}).get("defaults", {})


def _axis_label(panel: dict[str, Any]) -> str:
    defaults = _defaults(panel)
    label = defaults.get("custom", {}).get("axisLabel", "")
    return label or UNIT_NAMES.get(defaults.get("unit", ""), "")


def _value_axis(ax, panel: dict[str, Any], axis: str = "y") -> None:
    unit = _defaults(panel).get("unit")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: format_value(v, unit, 0 if unit == "percentunit" else None)))
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(_axis_label(panel), fontsize=9.5, color=MUTED)
    ax.tick_params(labelsize=8.5)
    ax.grid(axis=axis, color="#e3e6ea", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _draw_timeseries(ax, panel: dict[str, Any], series: list[Series], time_range: TimeRange, ncol: int) -> None:
    ax.set_facecolor(PANEL_BG)
    custom = _defaults(panel).get("custom", {})
    if not series:
        _draw_text(ax, "No data", 14)
        return
    if custom.get("drawStyle") == "bars":
        _time_bars(ax, series, stacked=custom.get("stacking", {}).get("mode") == "normal")
    else:
        for index, one in enumerate(series):
            ax.plot(one.times, one.values, color=PALETTE[index % len(PALETTE)], linewidth=1.8,
                    marker="o" if custom.get("showPoints") == "always" else None, markersize=3, label=one.name)
    ax.set_xlim(time_range.start, time_range.end)
    if _defaults(panel).get("min") == 0:
        ax.set_ylim(bottom=0)
    if all(v == 0 for one in series for v in one.values):  # a flat line on the axis is easy to miss
        ax.text(0.5, 0.55, "0 throughout the time range", transform=ax.transAxes, ha="center", fontsize=11,
                color=MUTED)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=timezone.utc))
    _value_axis(ax, panel)
    ax.set_xlabel("time (UTC)", fontsize=9, color=MUTED, labelpad=1)
    if len(series) > 1:
        below_ticks = -0.42 / (ax.get_position().height * ax.figure.get_figheight())  # 0.42 in under the axis
        ax.legend(loc="upper left", bbox_to_anchor=(0, below_ticks), ncol=ncol,
                  fontsize=8.5, frameon=False, handlelength=1.5, columnspacing=1.2)


def _time_bars(ax, series: list[Series], stacked: bool) -> None:
    times = sorted({t for one in series for t in one.times})
    step = min((b - a for a, b in zip(times, times[1:])), default=None)
    width_days = (step.total_seconds() / 86_400 if step else 1) * 0.8
    bottom = {t: 0.0 for t in times}
    for index, one in enumerate(series):
        offset = 0 if stacked else (index - (len(series) - 1) / 2) * width_days / len(series)
        values = [0 if math.isnan(v) else v for v in one.values]
        x = [mdates.date2num(t) + offset for t in one.times]
        ax.bar(x, values, width=width_days if stacked else width_days / len(series),
               bottom=[bottom[t] for t in one.times] if stacked else 0,
               color=PALETTE[index % len(PALETTE)], label=one.name, align="center")
        if stacked:
            for t, v in zip(one.times, values):
                bottom[t] += v


def _draw_stat(ax, panel: dict[str, Any], frame: Frame) -> None:
    column = next(c for c in frame.columns if frame.kind(c) == "number")
    value = next((v for v in reversed(frame.values(column)) if v is not None), None)
    defaults = _defaults(panel)
    color = defaults.get("color", {}).get("fixedColor", "blue")
    _draw_text(ax, format_value(value, defaults.get("unit"), defaults.get("decimals")), 30,
               color=GRAFANA_COLORS.get(color, color) if value is not None else MUTED, weight="bold")


def _draw_table(ax, panel: dict[str, Any], frame: Frame) -> None:
    ax.axis("off")
    units = {o["matcher"]["options"]: p["value"] for o in panel.get("fieldConfig", {}).get("overrides", [])
             for p in o["properties"] if p["id"] == "unit"}
    rows = frame.rows[:MAX_TABLE_ROWS]
    cells = [[textwrap.shorten(format_value(value, units.get(column)), 34, placeholder="…")
              for column, value in zip(frame.columns, row)] for row in rows]
    height_in = ax.get_position().height * ax.figure.get_figheight()
    share = min(1.0, (len(rows) + 1) * TABLE_ROW_IN / height_in)  # rows keep one height whatever their number
    table = ax.table(cellText=cells, colLabels=frame.columns, cellLoc="left", colLoc="left",
                     bbox=(0, 1 - share, 1, share))
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    table.auto_set_column_width(list(range(len(frame.columns))))
    for (row, _), cell in table.get_celld().items():
        cell.set_edgecolor("#e3e6ea")
        cell.set_facecolor("#e9edf2" if row == 0 else "white")
        if row == 0:
            cell.set_text_props(fontweight="bold")
    if len(frame.rows) > len(rows):
        ax.text(1, -0.02, f"first {len(rows)} of {len(frame.rows)} rows", ha="right", va="top", fontsize=8,
                color=MUTED, transform=ax.transAxes)


def _draw_barchart(ax, panel: dict[str, Any], frame: Frame) -> None:
    ax.set_facecolor(PANEL_BG)
    x_field = panel.get("options", {}).get("xField") or frame.columns[0]
    labels = [format_value(v) for v in frame.values(x_field)]
    numbers = [c for c in frame.columns if frame.kind(c) == "number" and c != x_field]
    width = 0.8 / len(numbers)
    for index, column in enumerate(numbers):
        positions = [i + (index - (len(numbers) - 1) / 2) * width for i in range(len(labels))]
        values = [_number(v) for v in frame.values(column)]
        bars = ax.bar(positions, values, width=width, color=PALETTE[index % len(PALETTE)], label=column)
        ax.bar_label(bars, labels=[format_value(v) for v in values], fontsize=8, padding=2)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel(x_field, fontsize=9.5, color=MUTED)
    _value_axis(ax, panel)
    ax.margins(y=0.15)


def _draw_bargauge(ax, panel: dict[str, Any], frame: Frame) -> None:
    ax.set_facecolor(PANEL_BG)
    label = next(c for c in frame.columns if frame.kind(c) == "string")
    column = next(c for c in frame.columns if frame.kind(c) == "number")
    defaults = _defaults(panel)
    names = [str(v) for v in frame.values(label)]
    values = [_number(v) for v in frame.values(column)]
    colors = plt.get_cmap("viridis")([0.25 + 0.5 * i / max(len(values) - 1, 1) for i in range(len(values))])
    ax.barh(range(len(values)), values, color=colors, height=0.7)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(defaults.get("min", 0), defaults.get("max") or max(values) * 1.1)
    for index, value in enumerate(values):
        ax.text(value, index, " " + format_value(value, defaults.get("unit"), defaults.get("decimals")),
                va="center", fontsize=8.5)
    _value_axis(ax, panel, axis="x")
    ax.set_xlabel(f"{column} ({UNIT_NAMES.get(defaults.get('unit', ''), defaults.get('unit', ''))})",
                  fontsize=9.5, color=MUTED)


def _draw_note(ax, data: PanelData) -> None:
    ax.axis("off")
    ax.text(0, 1, data.note, fontsize=11, fontweight="bold", color="#8a5a00", va="top", transform=ax.transAxes)
    queries = "\n".join(textwrap.shorten(q, 150, placeholder=" …") for q in data.queries)
    ax.text(0, 0.8, "PromQL:\n" + queries, fontsize=8.5, family="monospace", color=MUTED, va="top",
            transform=ax.transAxes, wrap=True)


def _draw_text(ax, text: str, size: float, color: str = MUTED, weight: str = "normal") -> None:
    ax.axis("off")
    ax.text(0.5, 0.5, text, fontsize=size, color=color, fontweight=weight, ha="center", va="center",
            transform=ax.transAxes)
