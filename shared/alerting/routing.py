"""A notification policy tree (Grafana's provisioned ``policies``, Alertmanager's ``route``):
which route an alert takes, and so how it is grouped and how often it is repeated.

Alertmanager's semantics, which Grafana shares: an alert enters the root, then the first child
route whose matchers all hold (depth first); a route without its own receiver, grouping or timing
inherits its parent's. ``continue`` is not used by the project's trees and is refused.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

OPERATORS = ("=", "!=", "=~", "!~")
_SETTINGS = ("receiver", "group_by", "group_wait", "group_interval", "repeat_interval")


class PolicyError(ValueError):
    """A policy tree this module cannot evaluate exactly."""


@dataclass(frozen=True)
class Matcher:
    name: str
    operator: str
    value: str

    def holds(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.operator == "=":
            return actual == self.value
        if self.operator == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None  # Alertmanager anchors its regexes
        return found if self.operator == "=~" else not found

    def alertmanager(self) -> str:
        """As an Alertmanager matcher string: name="value" (quotes and backslashes escaped)."""
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.operator}"{escaped}"'


@dataclass(frozen=True)
class Route:
    """A route with its settings resolved (inherited from the parent where not its own)."""

    receiver: str
    group_by: tuple[str, ...]
    group_wait: str
    group_interval: str
    repeat_interval: str
    matchers: tuple[Matcher, ...] = ()
    routes: tuple["Route", ...] = field(default=())
    path: str = "{}"  # Alertmanager's route key: the matchers from the root down, e.g. {}/{category="engagement"}

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        if "..." in self.group_by:  # group by every label
            return dict(labels)
        return {name: labels[name] for name in self.group_by if name in labels}


def policy_tree(document: Mapping[str, Any], org_id: int = 1) -> Route:
    """The tree of a Grafana provisioning file's ``policies`` for one organisation."""
    trees = [p for p in document.get("policies", []) if int(p.get("orgId", 1)) == org_id]
    if len(trees) != 1:
        raise PolicyError(f"expected one notification policy tree for org {org_id}, found {len(trees)}")
    root = trees[0]
    missing = [s for s in _SETTINGS if s not in root and s != "group_by"]
    if missing:
        raise PolicyError(f"the root policy must set {', '.join(missing)}")
    return _route(root, None, "{}")


def _route(node: Mapping[str, Any], parent: Route | None, path: str) -> Route:
    if node.get("continue"):
        raise PolicyError("`continue` is not supported here")
    if any(key in node for key in ("matchers", "match", "match_re")):
        raise PolicyError("use object_matchers in Grafana policies")
    matchers = tuple(_matcher(m) for m in node.get("object_matchers") or [])
    inherited = {s: getattr(parent, s) for s in _SETTINGS} if parent else {"group_by": ()}
    own = {s: node[s] for s in _SETTINGS if s in node}
    if "group_by" in own:
        own["group_by"] = tuple(own["group_by"])
    if parent is not None:
        path = f"{path}/{{{','.join(m.alertmanager() for m in matchers)}}}"
    settings = {**inherited, **own}
    route = Route(**settings, matchers=matchers, path=path)
    children = tuple(_route(child, route, path) for child in node.get("routes") or [])
    return Route(**settings, matchers=matchers, routes=children, path=path)


def _matcher(raw: Any) -> Matcher:
    if not (isinstance(raw, (list, tuple)) and len(raw) == 3 and raw[1] in OPERATORS):
        raise PolicyError(f"an object matcher is [name, one of {OPERATORS}, value]; got {raw!r}")
    return Matcher(str(raw[0]), raw[1], str(raw[2]))


def route_for(tree: Route, labels: Mapping[str, str]) -> Route:
    """The route an alert with these labels takes (the deepest first match; else the root)."""
    for child in tree.routes:
        if all(m.holds(labels) for m in child.matchers):
            return route_for(child, labels)
    return tree


def alertmanager_route(tree: Route) -> dict[str, Any]:
    """The same tree in Alertmanager's configuration format (children only say what differs)."""
    def convert(route: Route, parent: Route | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if route.matchers:
            out["matchers"] = [m.alertmanager() for m in route.matchers]
        for setting in _SETTINGS:
            value = getattr(route, setting)
            if parent is None or value != getattr(parent, setting):
                out[setting] = list(value) if setting == "group_by" else value
        if route.routes:
            out["routes"] = [convert(child, route) for child in route.routes]
        return out

    return convert(tree, None)
