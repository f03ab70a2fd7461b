"""The notification side of grafana/provisioning/alerting: policy tree, message template, contact
points, read from the same folder as the rules."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shared.alerting.receivers import template_text
from shared.alerting.routing import Route, policy_tree
from shared.grafana import provisioning


def alerting_dir(grafana_dir: Path | None = None) -> Path:
    return provisioning.grafana_dir(grafana_dir) / "provisioning" / "alerting"


def documents(folder: Path) -> dict[str, dict[str, Any]]:
    """Every provisioning file of an alerting folder, by file name."""
    return {path.name: yaml.safe_load(path.read_text()) or {} for path in sorted(folder.glob("*.yaml"))}


def one_with(key: str, folder: Path | None = None) -> tuple[str, dict[str, Any]]:
    """The file of an alerting folder (default: the project's) that defines ``key``, and its content."""
    folder = folder or alerting_dir()
    found = [(name, doc) for name, doc in documents(folder).items() if key in doc]
    if len(found) != 1:
        raise FileNotFoundError(f"expected one file with `{key}` in {folder}, found {len(found)}")
    return found[0]


def policy(folder: Path | None = None) -> Route:
    """The notification policy tree of an alerting folder (default: the project's)."""
    return policy_tree(one_with("policies", folder)[1])


def templates(folder: Path | None = None) -> str:
    """The text of the notification template of an alerting folder (default: the project's)."""
    return template_text(one_with("templates", folder)[1])
