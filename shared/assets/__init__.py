"""Files the installed code reads at run time, found the same way in a checkout and in an
installed wheel.

The Grafana provisioning (``grafana/``) and the Prometheus configuration (``deploy/prometheus/``)
stay at the repository's top level, where docker-compose mounts them; ``setup.py`` installs them
as the packages ``shared.assets.grafana`` and ``shared.assets.prometheus`` (an editable install
maps those names to the same folders). So there is one copy, and nothing here depends on where
the source tree is.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

GRAFANA = "shared.assets.grafana"
PROMETHEUS = "shared.assets.prometheus"


def asset_dir(package: str) -> Path:
    """The folder holding ``package``'s files, as a real path (Grafana's and Prometheus' own
    tools need file names, not file objects)."""
    try:
        folder = resources.files(package)
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(f"{package} is not installed: install Richness (`pip install .` or `make install`) "
                                "rather than running it from an uninstalled source tree") from exc
    if not isinstance(folder, Path) or not folder.is_dir():
        raise FileNotFoundError(f"{package} is installed as {folder}, not as a folder on disk; install Richness "
                                "unpacked (pip does), not as a zip")
    return folder


def grafana_dir() -> Path:
    """Grafana provisioning: ``dashboards/*.json`` and ``provisioning/{datasources,dashboards,alerting}``."""
    return asset_dir(GRAFANA)


def prometheus_dir() -> Path:
    """Prometheus configuration: ``prometheus.yml`` (compose's scrape config), ``rules.yml`` (the
    pipeline's recording and alert rules) and ``rules.test.yml`` (their promtool tests)."""
    return asset_dir(PROMETHEUS)
