"""Prometheus configuration, installed as the package ``shared.assets.prometheus`` (see setup.py
and shared/assets): this file only makes the folder importable; Prometheus ignores it."""
