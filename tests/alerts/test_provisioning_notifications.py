"""The notification side of grafana/provisioning/alerting refers to what exists: the policies send
to the provisioned contact point, route labels that the rules set, group by labels the alerts
carry; the contact point uses templates that are defined; the template shows annotations and
labels that the rules give. Shapes are checked against Grafana 11.6's models (foundation SDK)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting

from services.alerts import provisioned
from shared.alerting.routing import route_for
from shared.grafana import provisioning
from tests.grafana.test_provisioning_format import dropped_keys

ROOT = Path(__file__).resolve().parents[2]
RULES = provisioning.alert_rules()
PROMETHEUS_RULES = [rule for group in yaml.safe_load((ROOT / "deploy/prometheus/rules.yml").read_text())["groups"]
                    for rule in group["rules"]]
_, CONTACT_POINTS = provisioned.one_with("contactPoints")
_, POLICIES = provisioned.one_with("policies")
TEMPLATES = provisioned.templates()
TREE = provisioned.policy()


def round_trip(model, data: dict) -> dict:
    return json.loads(json.dumps(model.from_json(data), cls=JSONEncoder))


def test_shapes_are_grafanas():
    for point in CONTACT_POINTS["contactPoints"]:
        assert set(point) == {"orgId", "name", "receivers"}
        for receiver in point["receivers"]:
            api = {**receiver, "name": point["name"]}
            assert dropped_keys(api, round_trip(alerting.ContactPoint, api)) == set()
    [policy] = POLICIES["policies"]
    api = {k: v for k, v in policy.items() if k != "orgId"}
    assert dropped_keys(api, round_trip(alerting.NotificationPolicy, api)) == set()
    _, document = provisioned.one_with("templates")
    for template in document["templates"]:
        api = {k: v for k, v in template.items() if k != "orgId"}
        assert dropped_keys(api, round_trip(alerting.NotificationTemplate, api)) == set()


def test_every_policy_sends_to_the_provisioned_contact_point():
    names = {p["name"] for p in CONTACT_POINTS["contactPoints"]}
    receivers = [TREE.receiver] + [r.receiver for r in TREE.routes]
    assert set(receivers) <= names == {"richness"}


def test_the_contact_point_uses_templates_that_are_defined():
    defined = set(re.findall(r'\{\{-?\s*define "([^"]+)"', TEMPLATES))
    used = {name for receiver in CONTACT_POINTS["contactPoints"][0]["receivers"]
            for value in receiver["settings"].values() if isinstance(value, str)
            for name in re.findall(r'template "([^"]+)"', value)}
    assert used == {"richness.title", "richness.message"} and used <= defined


def test_every_rule_takes_its_own_route_and_carries_the_label_it_is_grouped_by():
    engagement = next(r for r in TREE.routes if r.group_by == ("account",))
    pipeline = next(r for r in TREE.routes if r.group_by == ("service",))
    for rule in RULES:
        labels = {"alertname": rule.title, **rule.rule["labels"], "account": "x"}
        assert route_for(TREE, labels) is engagement, rule.uid
        # `account` comes from each row of the rule's query.
        queries = [q for q in rule.rule["data"] if q["datasourceUid"] != "__expr__"]
        assert all(re.search(r"SELECT account,", q["model"]["rawSql"]) for q in queries), rule.uid
    for rule in PROMETHEUS_RULES:
        assert route_for(TREE, {"alertname": rule["alert"], **rule["labels"]}) is pipeline, rule["alert"]
        assert rule["labels"]["service"], rule["alert"]


def test_the_template_shows_what_the_rules_give():
    annotations = set(re.findall(r"\.Annotations\.(\w+)", TEMPLATES))
    labels = set(re.findall(r"\.Labels\.(\w+)", TEMPLATES))
    assert annotations == {"summary", "description", "value", "dashboard_url"}
    assert labels == {"alertname", "account", "service"}
    for rule in RULES:  # engagement: everything
        assert annotations <= set(rule.rule["annotations"]), rule.uid
    for rule in PROMETHEUS_RULES:  # pipeline: what happened, and the service
        assert "summary" in rule["annotations"] and "service" in rule["labels"], rule["alert"]


@pytest.mark.parametrize("name", ["contactPoints", "policies"])
def test_grafana_would_replace_nothing_but_the_receivers_variables(name):
    # Grafana replaces $NAME with environment variables in these files (not in templates or annotations).
    path, _ = provisioned.one_with(name)
    text = "\n".join(line for line in (provisioned.alerting_dir() / path).read_text().splitlines()
                     if not line.lstrip().startswith("#"))
    assert set(re.findall(r"\$\{?(\w+)", text)) <= {"RICHNESS_ALERT_WEBHOOK_URL"}


def test_rule_labels_have_nothing_grafana_would_replace():
    for rule in RULES:
        assert "$" not in json.dumps(rule.rule["labels"]), rule.uid
