"""Packages and their data files (the rest is in pyproject.toml), here for the one fact that
pyproject.toml cannot state: two folders that deployments mount where they are (``grafana/`` and
``deploy/prometheus/``, see docker-compose.yml) install as package data of ``shared.assets``, so
an installed Richness reads the repository's single copy (see shared/assets)."""
from setuptools import find_namespace_packages, setup

ASSETS = {"shared.assets.grafana": "grafana", "shared.assets.prometheus": "deploy/prometheus"}
ASSET_FILES = ["*.json", "*.yaml", "*.yml"]


def asset_packages(package: str, folder: str) -> list[str]:
    """The asset package and one package per sub-folder (setuptools copies data package by package)."""
    return [package, *(f"{package}.{sub}" for sub in find_namespace_packages(where=folder, exclude=["*__pycache__"]))]


assets = [name for package, folder in ASSETS.items() for name in asset_packages(package, folder)]
setup(
    packages=[*find_namespace_packages(include=["shared", "shared.*", "services", "services.*"],
                                       exclude=["*__pycache__"]), *assets],
    package_dir=ASSETS,
    package_data={"": ["*.sql", "*.xml"], **{name: ASSET_FILES for name in assets}},
)
