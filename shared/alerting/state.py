"""Alert state, as Grafana keeps it for each instance of a rule: pending → firing → resolved.

Pure: the watcher (services/alerts/watch.py) evaluates the rules, gives ``step`` what holds now,
and posts the transitions it returns. Each transition happens once, so each notification is sent
once: an alert that keeps firing produces nothing more, a restart loads the same states
(``to_json``/``from_json``) and so produces nothing again.

- An instance whose condition holds becomes *pending*; once it has held for the rule's ``for``
  (at every evaluation in between), it *fires* (a ``firing`` transition). ``for`` 0 fires at once.
- When its condition no longer holds, a pending instance is forgotten silently and a firing one
  *resolves* (a ``resolved`` transition). A rule that has disappeared resolves its instances too.
- A rule that could not be evaluated (ClickHouse unreachable…) keeps its instances as they are:
  an outage neither resolves an alert nor lets a pending one fire.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Iterable, Literal, Mapping

PENDING, FIRING = "pending", "firing"


@dataclass(frozen=True)
class Observation:
    """An instance whose condition holds at this evaluation, with what a notification shows."""

    rule_uid: str
    labels: Mapping[str, str]                                 # the alert's labels (its identity within the rule)
    annotations: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, float | None] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)    # generatorURL, dashboardURL, panelURL

    @property
    def key(self) -> str:
        return instance_key(self.rule_uid, self.labels)


@dataclass(frozen=True)
class Instance:
    rule_uid: str
    labels: dict[str, str]
    state: Literal["pending", "firing"]
    active_since: datetime          # first evaluation of this run of the condition holding
    fired_at: datetime | None       # when it started firing (Grafana's startsAt)
    annotations: dict[str, str]
    values: dict[str, float | None]
    links: dict[str, str]

    @property
    def key(self) -> str:
        return instance_key(self.rule_uid, self.labels)


@dataclass(frozen=True)
class Transition:
    status: Literal["firing", "resolved"]
    instance: Instance
    at: datetime


def instance_key(rule_uid: str, labels: Mapping[str, str]) -> str:
    return rule_uid + " " + json.dumps(sorted(labels.items()), ensure_ascii=False)


def step(states: Mapping[str, Instance], now: datetime, pending_for: Mapping[str, timedelta],
         evaluated: Iterable[str], observed: Iterable[Observation]) -> tuple[dict[str, Instance], list[Transition]]:
    """The states after an evaluation at ``now``, and the transitions to notify.

    ``pending_for``: every rule that exists, with its ``for``; ``evaluated``: the rules whose
    evaluation succeeded now; ``observed``: their instances whose condition holds."""
    evaluated = set(evaluated)
    unknown = evaluated - set(pending_for)
    if unknown:
        raise ValueError(f"evaluated rules without a `for`: {sorted(unknown)}")
    holding = {o.key: o for o in observed}
    stray = {o.rule_uid for o in holding.values()} - evaluated
    if stray:
        raise ValueError(f"observations of rules that were not evaluated: {sorted(stray)}")

    after: dict[str, Instance] = {}
    transitions: list[Transition] = []
    for key, instance in states.items():
        if instance.rule_uid in evaluated and key not in holding or instance.rule_uid not in pending_for:
            if instance.state == FIRING:  # no longer holds, or its rule is gone
                transitions.append(Transition("resolved", instance, now))
            continue
        after[key] = instance  # still holds (updated below), or its rule failed to evaluate: unchanged

    for key, seen in holding.items():
        current = after.get(key)
        latest = dict(annotations=dict(seen.annotations), values=dict(seen.values), links=dict(seen.links))
        if current is None:
            current = Instance(seen.rule_uid, dict(seen.labels), PENDING, now, None, **latest)
        else:
            current = replace(current, **latest)
        # A clock that went backwards counts as no time passed.
        held = max(now - current.active_since, timedelta(0))
        if current.state == PENDING and held >= pending_for[seen.rule_uid]:
            current = replace(current, state=FIRING, fired_at=now)
            transitions.append(Transition("firing", current, now))
        after[key] = current
    return after, transitions


# --- persistence (the watcher writes these to its state file) ----------------------------------------

def to_json(states: Mapping[str, Instance]) -> list[dict[str, Any]]:
    out = []
    for instance in states.values():
        data = asdict(instance)
        data["active_since"] = instance.active_since.isoformat()
        data["fired_at"] = instance.fired_at.isoformat() if instance.fired_at else None
        out.append(data)
    return out


def from_json(data: Iterable[Mapping[str, Any]]) -> dict[str, Instance]:
    states = {}
    for item in data:
        instance = Instance(
            rule_uid=item["rule_uid"], labels=dict(item["labels"]), state=item["state"],
            active_since=datetime.fromisoformat(item["active_since"]),
            fired_at=datetime.fromisoformat(item["fired_at"]) if item["fired_at"] else None,
            annotations=dict(item["annotations"]), values=dict(item["values"]), links=dict(item["links"]))
        if instance.state not in (PENDING, FIRING):
            raise ValueError(f"unknown alert state {instance.state!r}")
        states[instance.key] = instance
    return states


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNITS = {"ms": timedelta(milliseconds=1), "s": timedelta(seconds=1), "m": timedelta(minutes=1),
          "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_duration(text: str) -> timedelta:
    """A Prometheus/Grafana duration: ``2h``, ``1h30m``, ``90s``, ``0s``."""
    text = text.strip()
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 2h or 1h30m")
    return sum((int(number) * _UNITS[unit] for number, unit in parts), timedelta(0))
