"""Richness's services: one folder per service, each a thin entrypoint around ``shared``."""
