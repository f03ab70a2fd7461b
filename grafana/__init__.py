"""Grafana provisioning, installed as the package ``shared.assets.grafana`` (see setup.py and
shared/assets): this file only makes the folder importable; Grafana ignores it."""
