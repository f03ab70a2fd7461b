"""grafana/ follows Grafana's provisioning format: dashboards round-trip through the Grafana 11.6
foundation SDK without losing a key, alert rules have the file-provisioning shape, every uid is
fixed, unique and consistent, and every data source, dashboard and panel referenced exists."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import alerting
from grafana_foundation_sdk.models.dashboard import Dashboard

from shared.grafana import provisioning
from shared.grafana.alerting import EXPRESSIONS, render_annotation
from shared.grafana.macros import PLUGIN_VERSION
from shared.grafana.provisioning import CLICKHOUSE_TYPE, PROMETHEUS_TYPE, panels, target_datasource

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = provisioning.dashboards()
RULES = provisioning.alert_rules()
DATASOURCES = provisioning.datasources()
UIDS = {"richness-conversations", "richness-audience", "richness-traffic", "richness-value", "richness-pipeline"}
ENGAGEMENT = UIDS - {"richness-pipeline"}
CONTRACT_VIEWS = {"events", "account_daily", "threads", "followers"}
# The views made for the dashboards (not part of the contract): what the migration creates.
DASHBOARD_VIEWS = set(re.findall(r"CREATE OR REPLACE VIEW \{db\}\.(\w+)",
                                 (ROOT / "shared/clickhouse/migrations/0006_dashboard_views.sql").read_text()))
# Keys Grafana reads that the SDK's models do not carry (checked by hand against Grafana 11.6).
SDK_BLIND_SPOTS = {"templating.list[].definition"}
CLICKHOUSE_TARGET_KEYS = {"refId", "datasource", "editorType", "format", "queryType", "pluginVersion", "rawSql"}

register_default_plugins()


def dropped_keys(before, after, path: str = "") -> set[str]:
    """Keys of ``before`` missing from ``after``, as paths with list indexes erased."""
    if isinstance(before, dict) and isinstance(after, dict):
        missing = {f"{path}.{k}".lstrip(".") for k in before if k not in after}
        return missing | {m for k in before if k in after for m in dropped_keys(before[k], after[k], f"{path}.{k}")}
    if isinstance(before, list) and isinstance(after, list):
        return {m for b, a in zip(before, after) for m in dropped_keys(b, a, f"{path}[]")}
    return set()


def round_trip(dashboard: dict) -> dict:
    return json.loads(json.dumps(Dashboard.from_json(dashboard), cls=JSONEncoder))


def clickhouse_queries():
    for dashboard in DASHBOARDS:
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if target_datasource(panel, target).get("type") == CLICKHOUSE_TYPE:
                    yield dashboard, panel, target["rawSql"]


def all_sql() -> list[str]:
    return ([sql for _, _, sql in clickhouse_queries()]
            + [v["query"] for d in DASHBOARDS for v in d.get("templating", {}).get("list", [])]
            + [q["model"]["rawSql"] for r in RULES for q in r.rule["data"] if q["datasourceUid"] != "__expr__"])


# --- dashboards ----------------------------------------------------------------------------------------

def test_the_five_dashboards_have_their_fixed_unique_uids():
    assert sorted(d["uid"] for d in DASHBOARDS) == sorted(UIDS)
    assert len({d["title"] for d in DASHBOARDS}) == len(DASHBOARDS)


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d["uid"])
def test_dashboard_round_trips_through_the_grafana_sdk_without_losing_a_key(dashboard):
    assert dropped_keys(dashboard, round_trip(dashboard)) <= SDK_BLIND_SPOTS


def test_the_round_trip_catches_a_misspelled_key():
    broken = json.loads(json.dumps(DASHBOARDS[0]))
    broken["panels"][0]["descripton"] = "typo"
    series = next(p for p in broken["panels"] if p["type"] == "timeseries")
    series["fieldConfig"]["defaults"]["custom"]["axisLable"] = "typo"
    assert dropped_keys(broken, round_trip(broken)) - SDK_BLIND_SPOTS == {
        "panels[].descripton", "panels[].fieldConfig.defaults.custom.axisLable"}


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d["uid"])
def test_panels_have_unique_ids_and_do_not_overlap_on_the_grid(dashboard):
    found = list(panels(dashboard))
    assert len({p["id"] for p in found}) == len(found)
    cells: dict[tuple[int, int], str] = {}
    for panel in found:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


def test_every_referenced_data_source_is_provisioned_with_that_type():
    assert {"richness-clickhouse", "richness-prometheus"} <= set(DATASOURCES)
    refs = [(p.get("datasource"), p["title"]) for d in DASHBOARDS for p in panels(d)]
    refs += [(t.get("datasource"), p["title"]) for d in DASHBOARDS for p in panels(d) for t in p.get("targets", [])]
    refs += [(v["datasource"], v["name"]) for d in DASHBOARDS for v in d.get("templating", {}).get("list", [])]
    for ref, where in refs:
        assert ref["uid"] in DATASOURCES, where
        assert DATASOURCES[ref["uid"]]["type"] == ref["type"], where
    clickhouse = DATASOURCES["richness-clickhouse"]
    assert clickhouse["type"] == CLICKHOUSE_TYPE and clickhouse["jsonData"]["username"] == "${RICHNESS_CLICKHOUSE_READER_USER}"


def test_clickhouse_targets_have_the_plugin_v4_shape():
    for dashboard in DASHBOARDS:
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if target_datasource(panel, target)["type"] != CLICKHOUSE_TYPE:
                    continue
                assert set(target) <= CLICKHOUSE_TARGET_KEYS, (panel["title"], set(target) - CLICKHOUSE_TARGET_KEYS)
                assert target["editorType"] == "sql"
                # Without pluginVersion the editor takes the query for a v3 one and rewrites it on open.
                assert target["pluginVersion"] == PLUGIN_VERSION, panel["title"]
                series = panel["type"] == "timeseries"
                # format: the SDK's sqlutil 0 = time series, 1 = table; queryType: the plugin's model values
                assert (target["format"], target["queryType"]) == ((0, "timeseries") if series else (1, "table")), panel["title"]


def test_alert_rule_queries_have_the_plugin_v4_shape():
    for rule in RULES:
        for query in rule.rule["data"]:
            if query["datasourceUid"] == "__expr__":
                continue
            model = query["model"]
            assert (model["editorType"], model["pluginVersion"], model["format"], model["queryType"]) == \
                ("sql", PLUGIN_VERSION, 1, "table"), rule.uid


@pytest.mark.parametrize("uid", sorted(ENGAGEMENT))
def test_engagement_dashboards_filter_every_query_by_the_multi_value_account_variable(uid):
    dashboard = next(d for d in DASHBOARDS if d["uid"] == uid)
    [variable] = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["multi"], variable["includeAll"]) == ("account", "query", True, True)
    assert variable["datasource"]["uid"] == "richness-clickhouse" and variable["refresh"] == 2  # on time range change
    for _, panel, sql in (q for q in clickhouse_queries() if q[0] is dashboard):
        # The names are hex-encoded (safe in SQL); unhex gives ClickHouse a set of names it can
        # look up in the tables' primary keys. Where the rows are sharded by the account (or a
        # conversation's owner), also `hex(…) IN`, which a cluster narrows to that shard (the
        # sharding key is cityHash64(hex(…))); clicks are sharded by event id.
        found = re.search(r"\$__conditionalAll\((?:hex\((\w+)\) IN \(\$\{account:singlequote\}\) AND )?(\w+) IN "
                          r"\(SELECT unhex\(arrayJoin\(\[\$\{account:singlequote\}\]\)\)\), \$account\)", sql)
        assert found, panel["title"]
        column = found.group(2)
        assert column in ("account", "owner_key", "target"), panel["title"]
        assert found.group(1) == (None if column == "target" else column), panel["title"]


def test_queries_read_views_only_and_filter_on_time_unless_all_time():
    """The contract views or the dashboards' own views, never the tables the processor writes."""
    assert {"followers_at", "threads_between", "click_events"} <= DASHBOARD_VIEWS
    for sql in all_sql():
        assert set(re.findall(r"\brichness\.(\w+)", sql)) <= CONTRACT_VIEWS | DASHBOARD_VIEWS, sql
    for _, panel, sql in clickhouse_queries():
        if re.search(r"\brichness\.(followers|follower_list|audience)\b", sql):  # the ledger: now, all time (contract §3)
            continue
        assert re.search(r"\$__(timeFilter|dateFilter|toTime)\b", sql), panel["title"]


def test_prometheus_panels_and_rules_use_metrics_the_services_export():
    # Read from the services' metric definitions (processor and sink cannot share one registry).
    suffixes = {"Counter": ["_total"], "Histogram": ["_bucket", "_sum", "_count"], "Gauge": [""]}
    # (prometheus_client exposes a counter named with or without "_total" as "<name>_total")
    exported = {name.removesuffix("_total") + suffix for path in ROOT.glob("services/*/metrics.py")
                for kind, name in re.findall(r"\b(Counter|Gauge|Histogram)\(\s*\"(richness_\w+)\"", path.read_text())
                for suffix in suffixes[kind]}
    promql = [t["expr"] for d in DASHBOARDS for p in panels(d) for t in p.get("targets", [])
              if target_datasource(p, t)["type"] == PROMETHEUS_TYPE]
    promql.append((ROOT / "deploy/prometheus/rules.yml").read_text())
    used = {name for text in promql for name in re.findall(r"\brichness_[a-z_]*[a-z]\b", text)}
    # A regex selector names metrics by pattern: expand it.
    used |= {f"richness_{part}_dead_letters_total" for text in promql
             for group in re.findall(r"richness_\(([a-z|]+)\)_dead_letters_total", text) for part in group.split("|")}
    assert "richness_ingest_requests_total" in used and "richness_consumer_lag" in used
    assert used <= exported, used - exported


def test_the_dashboard_provider_points_where_compose_mounts_the_dashboards():
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/richness.yaml").read_text())["providers"][0]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in compose["services"]["grafana"]["volumes"]


# --- alert rules ---------------------------------------------------------------------------------------

GROUP_KEYS = {"orgId", "name", "folder", "interval", "rules"}
RULE_KEYS = {"uid", "title", "condition", "data", "dashboardUid", "panelId", "noDataState", "execErrState", "for",
             "annotations", "labels", "isPaused", "notification_settings"}


# What an alerting provisioning file may define (Grafana 11.6); the notification side is checked
# in tests/alerts/test_provisioning_notifications.py.
ALERTING_KEYS = {"groups", "contactPoints", "policies", "templates"}


def test_alert_files_have_the_provisioning_shape():
    files = sorted((ROOT / "grafana/provisioning/alerting").glob("*"))
    assert files
    for path in files:
        assert path.suffix == ".yaml", f"{path}: Grafana refuses any other file in its alerting folder"
        document = yaml.safe_load(path.read_text())
        assert document["apiVersion"] == 1 and set(document) - {"apiVersion"} <= ALERTING_KEYS, path
        for group in document.get("groups", []):
            assert set(group) == GROUP_KEYS, set(group) ^ GROUP_KEYS
            assert re.fullmatch(r"\d+[smh]", group["interval"])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.uid)
def test_alert_rule_keys_are_known_to_grafana(rule):
    assert set(rule.rule) <= RULE_KEYS, set(rule.rule) - RULE_KEYS
    # The API model (the SDK's) has the same keys but for the dashboard link.
    api_shape = {k: v for k, v in rule.rule.items() if k not in ("dashboardUid", "panelId")}
    back = json.loads(json.dumps(alerting.Rule.from_json(api_shape), cls=JSONEncoder))
    assert dropped_keys(api_shape, back) == set()
    for query in rule.rule["data"]:
        assert dropped_keys(query, json.loads(json.dumps(alerting.Query.from_json(query), cls=JSONEncoder))) == set()


def test_alert_rule_uids_are_unique_and_their_references_exist():
    assert len({r.uid for r in RULES}) == len(RULES) >= 3
    for rule in RULES:
        refs = [q["refId"] for q in rule.rule["data"]]
        assert len(set(refs)) == len(refs) and rule.rule["condition"] in refs
        assert rule.rule["noDataState"] in {"OK", "NoData", "Alerting", "KeepLast"}
        assert rule.rule["execErrState"] in {"OK", "Error", "Alerting", "KeepLast"}
        assert re.fullmatch(r"\d+[smh]", rule.rule["for"])
        for query in rule.rule["data"]:
            assert query["model"]["refId"] == query["refId"]
            if query["datasourceUid"] == "__expr__":
                assert query["model"]["type"] in EXPRESSIONS
                assert query["model"]["expression"] in refs[:refs.index(query["refId"])]
            else:
                assert DATASOURCES[query["datasourceUid"]]["type"] == CLICKHOUSE_TYPE
                assert query["relativeTimeRange"]["from"] > query["relativeTimeRange"]["to"] >= 0
                assert query["model"]["format"] == 1  # a table: one row per account
        dashboard = next(d for d in DASHBOARDS if d["uid"] == rule.rule["dashboardUid"])
        assert rule.rule["panelId"] in {p["id"] for p in panels(dashboard)}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.uid)
def test_alert_annotations_render(rule):
    annotations = {name: render_annotation(template, {"account": "o'brien & co"}, {"A": 0.6, "B": 0.6, "C": 1.0},
                                           "https://grafana.example/")
                   for name, template in rule.rule["annotations"].items()}
    assert "{{" not in "".join(annotations.values())
    for name in ("summary", "description"):
        assert "o'brien & co" in annotations[name] and "60%" in annotations[name], name
    if rule.rule["labels"].get("category") != "engagement":
        return
    # What the notification message shows of an engagement alert (notification-templates.yaml).
    assert annotations["value"].startswith("60% below its baseline")
    # The rule's own dashboard, filtered on the account (quoted for a URL).
    assert annotations["dashboard_url"] == (f"https://grafana.example/d/{rule.rule['dashboardUid']}"
                                            "?orgId=1&var-account=o%27brien+%26+co")


def test_prometheus_loads_the_rules_file_that_compose_mounts():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == ["rules.yml"]  # relative to /etc/prometheus/prometheus.yml
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "./deploy/prometheus/rules.yml:/etc/prometheus/rules.yml:ro" in compose["services"]["prometheus"]["volumes"]
