"""Notification bodies (shared/alerting/notifications.py): grouped as the policy tree groups, close
to Grafana's webhook payload, and carrying only the alerts whose state changed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.alerts import provisioned
from shared.alerting.notifications import ZERO_TIME, fingerprint, notifications
from shared.alerting.state import Instance, Transition

AT = datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)
GRAFANA_KEYS = {"receiver", "status", "orgId", "alerts", "groupLabels", "commonLabels", "commonAnnotations",
                "externalURL", "version", "groupKey", "truncatedAlerts", "title", "state", "message"}
ALERT_KEYS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
              "dashboardURL", "panelURL", "values", "valueString"}


def transition(status: str, account: str, rule: str = "Replies received dropped", category: str = "engagement",
               at: datetime = AT) -> Transition:
    labels = {"alertname": rule, "category": category, "account": account}
    instance = Instance("uid", labels, "firing", AT - timedelta(hours=2), AT, {"summary": f"{account} dropped"},
                        {"B": 0.62, "C": 1.0}, {"dashboardURL": "http://g/d/x?orgId=1"})
    return Transition(status, instance, at)


def build(*transitions):
    return notifications(transitions, provisioned.policy(), provisioned.templates(), "http://g/")


def test_one_notification_per_account_with_every_rule_that_changed_for_it():
    bodies = build(transition("firing", "robert"), transition("firing", "robert", "Engagement per follower dropped"),
                   transition("firing", "ameena"))
    assert [(b["groupLabels"], len(b["alerts"])) for b in bodies] == [({"account": "ameena"}, 1),
                                                                      ({"account": "robert"}, 2)]
    robert = bodies[1]
    assert set(robert) == GRAFANA_KEYS and all(set(a) == ALERT_KEYS for a in robert["alerts"])
    assert robert["commonLabels"] == {"account": "robert", "category": "engagement"}
    assert robert["groupKey"] == "{}/{category=\"engagement\"}:{account='robert'}"
    assert (robert["status"], robert["state"], robert["receiver"]) == ("firing", "alerting", "richness")


def test_a_firing_alert_starts_when_it_fired_and_has_not_ended():
    [body] = build(transition("firing", "robert"))
    [alert] = body["alerts"]
    assert (alert["startsAt"], alert["endsAt"]) == ("2026-11-20T06:00:00Z", ZERO_TIME)
    assert alert["fingerprint"] == fingerprint(alert["labels"]) and len(alert["fingerprint"]) == 16
    assert alert["values"] == {"B": 0.62, "C": 1.0}
    assert alert["valueString"].startswith("[ var='B' labels={account=robert, alertname=Replies received dropped")


def test_a_resolved_alert_ends_when_it_resolved():
    [body] = build(transition("resolved", "robert", at=AT + timedelta(days=1)))
    assert (body["status"], body["state"]) == ("resolved", "ok")
    assert body["alerts"][0]["endsAt"] == "2026-11-21T06:00:00Z"


def test_firing_and_resolved_of_one_group_travel_together_firing_first():
    [body] = build(transition("resolved", "robert"), transition("firing", "robert", "Engagement per follower dropped"))
    assert [a["status"] for a in body["alerts"]] == ["firing", "resolved"] and body["status"] == "firing"


def test_pipeline_alerts_group_by_service():
    def down(service: str, instance: str) -> Transition:
        labels = {"alertname": "RichnessServiceDown", "category": "pipeline", "service": service, "instance": instance}
        return Transition("firing", Instance("up", labels, "firing", AT, AT, {}, {}, {}), AT)

    bodies = build(down("sink", "s1"), down("sink", "s2"), down("ingest", "i1"))
    assert [(b["groupLabels"], len(b["alerts"])) for b in bodies] == [({"service": "ingest"}, 1),
                                                                      ({"service": "sink"}, 2)]
