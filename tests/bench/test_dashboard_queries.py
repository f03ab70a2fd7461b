"""The dashboards stage times every ClickHouse query the provisioned dashboards and alert rules
send: found here by walking the files themselves, so a panel added anywhere (in a collapsed row,
with the data source on the panel only) or a new alert rule cannot be left out."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator

import yaml

from services.bench.dashboards import provisioned_queries
from shared.grafana import provisioning

CLICKHOUSE = provisioning.CLICKHOUSE_TYPE


def _dicts(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def queries_in_files(folder: Path) -> set[tuple[str, str, str]]:
    """(kind, dashboard or rule uid, SQL) of every ClickHouse query in the files."""
    found = set()
    sources = {s["uid"]: s["type"] for path in (folder / "provisioning" / "datasources").glob("*.yaml")
               for s in yaml.safe_load(path.read_text())["datasources"]}
    for path in (folder / "dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        for variable in board.get("templating", {}).get("list", []):
            if variable.get("datasource", {}).get("type") == CLICKHOUSE:
                query = variable["query"]
                found.add(("variable", board["uid"], query if isinstance(query, str) else query["rawSql"]))
        for panel in (d for d in _dicts(board.get("panels", [])) if "targets" in d):
            for target in panel["targets"]:
                source = target.get("datasource") or panel.get("datasource") or {}
                if source.get("type") == CLICKHOUSE and not target.get("hide"):
                    found.add(("panel", board["uid"], target["rawSql"]))
    for path in (folder / "provisioning" / "alerting").glob("*.yaml"):
        for group in yaml.safe_load(path.read_text()).get("groups", []):
            for rule in group["rules"]:
                for query in rule["data"]:
                    if sources.get(query["datasourceUid"]) == CLICKHOUSE:
                        found.add(("alert", rule["uid"], query["model"]["rawSql"]))
    return found


def timed(folder: Path | None = None) -> set[tuple[str, str, str]]:
    return {(s.kind, s.where, s.text) for s in provisioned_queries(folder)}


def test_every_clickhouse_query_of_the_provisioned_files_is_timed():
    in_files = queries_in_files(provisioning.grafana_dir())
    assert len({q for q in in_files if q[0] == "panel"}) >= 45 and len({q for q in in_files if q[0] == "alert"}) == 3
    assert in_files == timed()


def test_a_panel_or_rule_added_anywhere_is_timed_too(tmp_path):
    folder = tmp_path / "grafana"
    shutil.copytree(provisioning.grafana_dir(), folder)
    path = folder / "dashboards" / "traffic.json"
    board = json.loads(path.read_text())
    clickhouse = {"type": CLICKHOUSE, "uid": "richness-clickhouse"}
    board["panels"].append({"type": "row", "title": "More", "collapsed": True, "id": 90, "panels": [
        {"type": "stat", "title": "In a collapsed row", "id": 91, "datasource": clickhouse,
         "targets": [{"refId": "A", "rawSql": "SELECT 1 AS in_row"}]},
        {"type": "table", "title": "Two queries", "id": 92,
         "targets": [{"refId": "A", "datasource": clickhouse, "rawSql": "SELECT 2 AS first"},
                     {"refId": "B", "datasource": clickhouse, "rawSql": "SELECT 3 AS second"}]}]})
    path.write_text(json.dumps(board))
    alerts = folder / "provisioning" / "alerting" / "engagement.yaml"
    document = yaml.safe_load(alerts.read_text())
    rule = json.loads(json.dumps(document["groups"][0]["rules"][0]))
    rule["uid"], rule["data"][0]["model"]["rawSql"] = "another-rule", "SELECT 'a' AS account, 0 AS value"
    document["groups"][0]["rules"].append(rule)
    alerts.write_text(yaml.safe_dump(document))

    added = timed(folder) - timed()
    assert added == {("panel", "richness-traffic", "SELECT 1 AS in_row"), ("panel", "richness-traffic", "SELECT 2 AS first"),
                     ("panel", "richness-traffic", "SELECT 3 AS second"),
                     ("alert", "another-rule", "SELECT 'a' AS account, 0 AS value")}
    assert queries_in_files(folder) == timed(folder)
