"""The notification policy tree: engagement alerts grouped by account, pipeline alerts by service,
the same in Grafana (shared/alerting/routing.py reads its provisioning) and in Alertmanager (amtool
on the configuration written from it)."""
from __future__ import annotations

import pytest
import yaml

from services.alerts import alertmanager, provisioned
from shared.alerting.receivers import AlertSettings
from shared.alerting.routing import PolicyError, policy_tree, route_for
from tests.alerts.amtool import amtool

TREE = provisioned.policy()
LABELS = {
    "engagement": {"alertname": "Replies received dropped", "category": "engagement", "account": "robert",
                   "grafana_folder": "Richness", "severity": "warning"},
    "pipeline": {"alertname": "RichnessServiceDown", "category": "pipeline", "service": "sink", "job": "sink",
                 "instance": "s1:9102", "severity": "critical"},
    "other": {"alertname": "Something else", "grafana_folder": "Other"},
}


def test_engagement_alerts_are_grouped_by_account_and_repeated_daily():
    route = route_for(TREE, LABELS["engagement"])
    assert route.group_labels(LABELS["engagement"]) == {"account": "robert"}
    assert (route.receiver, route.repeat_interval) == ("richness", "24h")


def test_pipeline_alerts_are_grouped_by_service():
    route = route_for(TREE, LABELS["pipeline"])
    assert route.group_labels(LABELS["pipeline"]) == {"service": "sink"} and route.receiver == "richness"


def test_other_alerts_take_the_root():
    route = route_for(TREE, LABELS["other"])
    assert route is TREE and route.group_labels(LABELS["other"]) == {"grafana_folder": "Other",
                                                                        "alertname": "Something else"}


@pytest.fixture(scope="module")
def alertmanager_yml(tmp_path_factory):
    return alertmanager.write_config(tmp_path_factory.mktemp("am"), AlertSettings(), "http://127.0.0.1:9/")


@pytest.mark.parametrize("kind", sorted(LABELS))
def test_alertmanager_takes_the_same_route(kind, alertmanager_yml):
    labels = [f"{k}={v}" for k, v in LABELS[kind].items()]
    result = amtool("config", "routes", "test", f"--config.file={alertmanager_yml}", "--tree", *labels)
    assert result.returncode == 0, result.stderr
    expected = route_for(TREE, LABELS[kind])
    # amtool prints the matching route's matchers; the root is "default-route".
    deepest = [line for line in result.stdout.splitlines() if "receiver:" in line]
    assert len(deepest) == 1 and "receiver: richness" in deepest[0]
    if expected is TREE:
        assert "default-route" in deepest[0]
    else:
        assert expected.matchers[0].alertmanager() in deepest[0]


SETTINGS = ("receiver", "group_by", "group_wait", "group_interval", "repeat_interval")


def test_alertmanager_groups_and_paces_each_route_as_grafana(alertmanager_yml):
    am = yaml.safe_load(alertmanager_yml.read_text())["route"]
    _, document = provisioned.one_with("policies")
    [grafana] = document["policies"]
    assert {k: am[k] for k in SETTINGS} == {k: grafana[k] for k in SETTINGS}
    assert len(am["routes"]) == len(grafana["routes"]) == 2
    for am_child, grafana_child in zip(am["routes"], grafana["routes"]):
        assert am_child["matchers"] == [f'{n}{op}"{v}"' for n, op, v in grafana_child["object_matchers"]]
        assert ({k: {**am, **am_child}[k] for k in SETTINGS}
                == {k: {**grafana, **grafana_child}[k] for k in SETTINGS})


@pytest.mark.parametrize("broken, error", [
    ({"policies": []}, "expected one"),
    ({"policies": [{"receiver": "r", "group_wait": "1s", "group_interval": "1s"}]}, "repeat_interval"),
    ({"policies": [{"receiver": "r", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h",
                    "routes": [{"object_matchers": [["a", "==", "b"]]}]}]}, "object matcher"),
    ({"policies": [{"receiver": "r", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h",
                    "routes": [{"continue": True}]}]}, "continue"),
])
def test_trees_this_module_cannot_evaluate_are_refused(broken, error):
    with pytest.raises(PolicyError, match=error):
        policy_tree(broken)
