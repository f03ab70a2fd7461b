"""The notification template renders the same in the local watcher (shared/alerting/gotemplate.py)
as in Alertmanager's engine (amtool), and says what the issue asks: why, the account, the value
against its baseline, and the dashboard link."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.alerts import provisioned
from shared.alerting.gotemplate import TemplateError, render
from shared.alerting.notifications import notifications
from shared.alerting.state import Instance, Transition
from tests.alerts.amtool import render as amtool_render

TEMPLATES = provisioned.templates()
AT = datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)


def engagement(account: str, rule: str, status: str) -> Transition:
    labels = {"alertname": rule, "grafana_folder": "Richness", "category": "engagement", "severity": "warning",
              "team": "richness", "account": account}
    annotations = {"summary": f"{account}: engagement fell 62% below the usual day",
                   "description": f"Replies received by {account} were 62% below the median of the 14 days before.",
                   "value": "62% below its baseline (the median of the 14 days before); alerts above 50%",
                   "dashboard_url": "http://127.0.0.1:3000/d/richness-traffic?orgId=1&var-account=" + account}
    instance = Instance("uid-" + rule, labels, "firing", AT, AT, annotations, {"B": 0.62, "C": 1.0},
                        {"generatorURL": "http://127.0.0.1:3000/alerting/grafana/uid/view"})
    return Transition(status, instance, AT)


def pipeline(service: str) -> dict:
    """An Alertmanager notification of a Prometheus pipeline alert (no description, no link)."""
    return {"receiver": "richness", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "RichnessServiceDown", "category": "pipeline",
                                        "service": service, "severity": "critical"},
         "annotations": {"summary": f"{service} at s1:9102 does not answer /metrics"},
         "startsAt": "2026-11-20T06:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://prometheus:9090/graph", "fingerprint": "0123456789abcdef"}],
        "groupLabels": {"service": service}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "version": "4", "groupKey": "{}:{service=\"sink\"}"}


CASES = {
    "one account, two rules firing": [engagement("robert", "Replies received dropped", "firing"),
                                      engagement("robert", "Engagement per follower dropped", "firing")],
    "resolved": [engagement("o'brien & <co>", "Replies received dropped", "resolved")],
}


def payloads():
    for name, transitions in CASES.items():
        [payload] = notifications(transitions, provisioned.policy(), TEMPLATES, "http://127.0.0.1:3000/")
        yield pytest.param(payload, id=name)
    yield pytest.param(pipeline("sink"), id="pipeline alert from Alertmanager")


@pytest.fixture(scope="module")
def template_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "richness.tmpl"
    path.write_text(TEMPLATES)
    return path


@pytest.mark.parametrize("payload", list(payloads()))
@pytest.mark.parametrize("name", ["richness.title", "richness.message"])
def test_rendered_here_exactly_as_alertmanager_renders_it(payload, name, template_file, tmp_path):
    assert render(TEMPLATES, name, payload) == amtool_render(template_file, name, payload, tmp_path)


def test_an_engagement_message_says_why_which_account_how_far_from_baseline_and_where_to_look():
    [payload] = notifications(CASES["one account, two rules firing"], provisioned.policy(), TEMPLATES,
                              "http://127.0.0.1:3000/")
    assert payload["title"] == "[FIRING:2] Richness account=robert"
    message = payload["message"]
    assert message.count("FIRING: ") == 2 and message.count("Account: robert\n") == 2
    assert "Why: Replies received by robert were 62% below the median of the 14 days before." in message
    assert "Value: 62% below its baseline (the median of the 14 days before); alerts above 50%" in message
    assert "Dashboard: http://127.0.0.1:3000/d/richness-traffic?orgId=1&var-account=robert" in message


def test_a_resolved_notification_says_so():
    [payload] = notifications(CASES["resolved"], provisioned.policy(), TEMPLATES, "http://127.0.0.1:3000/")
    assert payload["title"] == "[RESOLVED] Richness account=o'brien & <co>"
    assert payload["message"].startswith("RESOLVED: Replies received dropped\n")


@pytest.mark.parametrize("source, error", [
    ('{{ define "t" }}{{ .Status | toUpper }}{{ end }}', "pipes"),
    ('{{ define "t" }}{{ with .Status }}x{{ end }}{{ end }}', "not supported"),
    ('{{ define "t" }}{{ .Nope }}{{ end }}', "can't evaluate field Nope"),
    ('{{ define "t" }}{{ if .Status }}x{{ end }}', "unclosed"),
    ('{{ define "t" }}{{ template "missing" . }}{{ end }}', "no template named"),
])
def test_what_this_renderer_cannot_do_exactly_is_an_error(source, error):
    with pytest.raises(TemplateError, match=error):
        render(source, "t", {"status": "firing"})


def test_a_missing_label_prints_as_go_prints_it():
    assert render('{{ define "t" }}[{{ .CommonLabels.nope }}]{{ end }}', "t", {"commonLabels": {}}) == "[<no value>]"
