"""Notifications as Grafana's webhook contact point sends them, built from state transitions.

The transitions of one evaluation are grouped as the notification policy tree groups them (e.g.
one notification per account for engagement alerts) and each group becomes one JSON body close
to Grafana's webhook payload: ``receiver``, ``status``, ``alerts`` (labels, annotations,
``startsAt``/``endsAt``, ``fingerprint``, ``values``, links), ``groupLabels``, ``commonLabels``,
``commonAnnotations``, ``externalURL``, ``groupKey``, ``title`` and ``message`` (the project's
notification template, rendered). Unlike Grafana, a body carries only the alerts whose state just
changed: the local loop never repeats an alert.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from shared.alerting.gotemplate import render
from shared.alerting.routing import Route, route_for
from shared.alerting.state import Transition

ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time: the endsAt of an alert still firing
TITLE, MESSAGE = "richness.title", "richness.message"


def timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable identity of an alert's label set (16 hex digits, like Grafana's)."""
    text = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def alert_body(transition: Transition) -> dict[str, Any]:
    instance = transition.instance
    values = {ref: value for ref, value in sorted(instance.values.items())}
    value_string = ", ".join(
        f"[ var='{ref}' labels={{{', '.join(f'{k}={v}' for k, v in sorted(instance.labels.items()))}}} value={value} ]"
        for ref, value in values.items())
    return {
        "status": transition.status,
        "labels": dict(sorted(instance.labels.items())),
        "annotations": dict(sorted(instance.annotations.items())),
        "startsAt": timestamp(instance.fired_at or transition.at),
        "endsAt": timestamp(transition.at) if transition.status == "resolved" else ZERO_TIME,
        "generatorURL": instance.links.get("generatorURL", ""),
        "fingerprint": fingerprint(instance.labels),
        "dashboardURL": instance.links.get("dashboardURL", ""),
        "panelURL": instance.links.get("panelURL", ""),
        "values": values,
        "valueString": value_string,
    }


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    first, *rest = maps
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in rest)}


def notifications(transitions: Iterable[Transition], policy: Route, templates: str, external_url: str,
                  org_id: int = 1) -> list[dict[str, Any]]:
    """One payload per (route, group) of these transitions, firing alerts first in each."""
    groups: dict[tuple[str, str, tuple], tuple[Route, dict[str, str], list[dict[str, Any]]]] = {}
    for transition in transitions:
        route = route_for(policy, transition.instance.labels)
        group_labels = route.group_labels(transition.instance.labels)
        key = (route.receiver, route.path, tuple(sorted(group_labels.items())))
        groups.setdefault(key, (route, group_labels, []))[2].append(alert_body(transition))

    payloads = []
    for (receiver, path, group), (route, group_labels, alerts) in sorted(groups.items()):
        alerts.sort(key=lambda a: (a["status"] != "firing", sorted(a["labels"].items())))
        firing = any(a["status"] == "firing" for a in alerts)
        payload = {
            "receiver": receiver,
            "status": "firing" if firing else "resolved",
            "orgId": org_id,
            "alerts": alerts,
            "groupLabels": dict(sorted(group_labels.items())),
            "commonLabels": _common([a["labels"] for a in alerts]),
            "commonAnnotations": _common([a["annotations"] for a in alerts]),
            "externalURL": external_url,
            "version": "1",
            "groupKey": f"{path}:{{{', '.join(f'{k}={v!r}' for k, v in sorted(group_labels.items()))}}}",
            "truncatedAlerts": 0,
            "state": "alerting" if firing else "ok",
        }
        payload["title"] = render(templates, TITLE, payload)
        payload["message"] = render(templates, MESSAGE, payload)
        payloads.append(payload)
    return payloads
