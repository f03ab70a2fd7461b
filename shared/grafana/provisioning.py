"""The project's Grafana provisioning (``grafana/`` at the repository root, installed as package
data: see ``shared.assets``): dashboards, data sources and alert rules as Grafana would load them."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from shared import assets

CLICKHOUSE_TYPE = "grafana-clickhouse-datasource"
PROMETHEUS_TYPE = "prometheus"


def grafana_dir(path: Path | None = None) -> Path:
    """``path`` if given (a folder in Grafana's provisioning layout), else the installed one."""
    folder = Path(path) if path is not None else assets.grafana_dir()
    if not (folder / "dashboards").is_dir() or not (folder / "provisioning").is_dir():
        raise FileNotFoundError(f"{folder} is not a Grafana provisioning folder (no dashboards/ and provisioning/)")
    return folder


def dashboards(folder: Path | None = None) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((grafana_dir(folder) / "dashboards").glob("*.json"))]


def datasources(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every provisioned data source by uid."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((grafana_dir(folder) / "provisioning" / "datasources").glob("*.yaml")):
        for source in yaml.safe_load(path.read_text()).get("datasources", []):
            found[source["uid"]] = source
    return found


@dataclass(frozen=True)
class AlertRule:
    group: dict[str, Any]
    rule: dict[str, Any]

    @property
    def uid(self) -> str:
        return self.rule["uid"]

    @property
    def title(self) -> str:
        return self.rule["title"]


def alert_rules(folder: Path | None = None) -> list[AlertRule]:
    rules = []
    for path in sorted((grafana_dir(folder) / "provisioning" / "alerting").glob("*.yaml")):
        for group in yaml.safe_load(path.read_text()).get("groups", []):
            rules.extend(AlertRule(group, rule) for rule in group.get("rules", []))
    return rules


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included (rows themselves are not panels)."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def target_datasource(panel: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """A query's data source: its own, else its panel's."""
    return target.get("datasource") or panel.get("datasource") or {}
