"""Evaluate the Grafana-managed alert rules of ``grafana/provisioning/alerting`` as Grafana would:
each ClickHouse query expanded with its ``relativeTimeRange`` (read-only user), its table turned
into labelled numbers, then the rule's reduce/threshold expressions. Returns the instances whose
condition holds, with the rule's annotations rendered: which accounts would fire, and why."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from services.dashboards.queries import run_sql
from shared.clickhouse.client import connect
from shared.config import Settings
from shared.grafana import provisioning
from shared.grafana.alerting import EXPRESSION_DATASOURCE, Number, RuleError, evaluate, numbers_from_table, render_annotation
from shared.grafana.macros import TimeRange, alert_sql


# Where `richness alerts check/watch` say Grafana is (RICHNESS_ALERT_GRAFANA_URL): docker-compose
# publishes it here. Like Grafana's own root URL, it always ends with a slash.
DEFAULT_GRAFANA_URL = "http://127.0.0.1:3000/"


@dataclass(frozen=True)
class Firing:
    rule_uid: str
    rule_title: str
    labels: dict[str, str]
    value: float | None      # the value the condition's threshold tested
    condition: str           # the threshold, e.g. "B > 0.5"
    summary: str
    description: str
    pending_for: str         # Grafana keeps it pending this long before it fires ("for")
    annotations: dict[str, str] = field(default_factory=dict)   # every annotation, rendered
    values: dict[str, float | None] = field(default_factory=dict)  # every refId's value for this instance


def check_alerts(settings: Settings, now: datetime | None = None, grafana_dir: Path | None = None,
                 external_url: str = DEFAULT_GRAFANA_URL) -> list[Firing]:
    """Every instance of every provisioned rule whose condition holds at ``now`` (default: now)."""
    now = now or datetime.now(timezone.utc)
    client = connect(settings, reader=True)
    sources = provisioning.datasources(grafana_dir)
    firing: list[Firing] = []
    for rule in provisioning.alert_rules(grafana_dir):
        firing.extend(evaluate_rule(client, sources, rule, now, external_url))
    return firing


def evaluate_rule(client, sources: dict, rule: provisioning.AlertRule, now: datetime,
                  external_url: str = DEFAULT_GRAFANA_URL) -> list[Firing]:
    """The instances of one rule whose condition holds at ``now``."""
    data = rule.rule["data"]
    results: dict[str, list[Number]] = {}
    for query in data:
        if query["datasourceUid"] == EXPRESSION_DATASOURCE:
            continue
        if sources.get(query["datasourceUid"], {}).get("type") != provisioning.CLICKHOUSE_TYPE:
            raise RuleError(f"{rule.uid}: query {query['refId']} uses data source {query['datasourceUid']!r}; "
                            "only the ClickHouse data source can be checked here")
        span = query["relativeTimeRange"]
        window = TimeRange(now - timedelta(seconds=span["from"]), now - timedelta(seconds=span["to"]))
        model = query["model"]
        sql = alert_sql(model["rawSql"], window, int(model.get("intervalMs", 1000)))
        results[query["refId"]] = numbers_from_table(run_sql(client, sql).fields())
    evaluated = evaluate(data, results)
    condition = rule.rule["condition"]
    threshold = next(q["model"] for q in data if q["refId"] == condition)
    evaluator = threshold["conditions"][0]["evaluator"]
    described = f"{threshold['expression']} {evaluator['type']} {', '.join(map(str, evaluator['params']))}"
    firing = []
    for instance in evaluated[condition]:
        if not instance.value:
            continue
        values = {ref: _value_for(numbers, instance) for ref, numbers in evaluated.items()}
        annotations = {name: render_annotation(template, instance.label_dict, values, external_url)
                       for name, template in rule.rule.get("annotations", {}).items()}
        firing.append(Firing(
            rule.uid, rule.title, instance.label_dict, values.get(threshold["expression"]), described,
            annotations.get("summary", rule.title), annotations.get("description", ""),
            rule.rule.get("for", "0s"), annotations, values))
    return firing


def _value_for(numbers: list[Number], instance: Number) -> float | None:
    return next((n.value for n in numbers if n.labels == instance.labels), None)


def firing_table(firing: list[Firing], now: datetime) -> Table | str:
    """What ``check_alerts`` found, for a terminal."""
    if not firing:
        return f"no engagement drop at {now:%Y-%m-%d %H:%M} UTC: no rule would fire"
    table = Table("rule", "labels", "value", "why", title=f"would fire at {now:%Y-%m-%d %H:%M} UTC "
                  "(Grafana keeps an alert pending for its 'for' before it fires)")
    for alert in firing:
        table.add_row(escape(alert.rule_title), escape(", ".join(f"{k}={v}" for k, v in alert.labels.items())),
                      f"{alert.value:.2f} ({alert.condition})" if alert.value is not None else alert.condition,
                      escape(alert.description or alert.summary))
    return table
