"""The wheel, installed into a fresh virtual environment outside the checkout, runs the user's
commands from there: whatever the installed code reads at run time (Grafana provisioning,
Prometheus rules, SQL migrations) travels inside it, and the build prints no warning."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
# What a checkout accumulates and a build must not see (a stale build/ would leak into the wheel).
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                    ".hypothesis", ".richness", "out")
ASSET_FOLDERS = {"grafana": "shared/assets/grafana", "deploy/prometheus": "shared/assets/prometheus"}


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory):
    """(wheel, the fresh venv's bin folder, a working folder outside the checkout, its environment)."""
    source = tmp_path_factory.mktemp("source") / "richness"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RICHNESS_") and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    wheels = tmp_path_factory.mktemp("wheels")
    build = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source)],
                cwd=wheels, env=env)
    assert "Warning" not in build.stdout + build.stderr, build.stdout + build.stderr  # project.license among them
    [wheel] = wheels.glob("richness-*.whl")

    home = tmp_path_factory.mktemp("user")
    assert not home.is_relative_to(ROOT)
    venv = home / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=home, env=env)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", str(wheel)],
        cwd=home, env=env, timeout=1200)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return wheel, venv / "bin", home, env


def test_the_wheel_carries_every_asset_file(installed):
    wheel = installed[0]
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, packaged in ASSET_FOLDERS.items():
        files = [p.relative_to(ROOT / folder) for p in (ROOT / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts]
        assert files, folder
        missing = [str(f) for f in files if f"{packaged}/{f.as_posix()}" not in names]
        assert not missing, f"{folder}: not in the wheel: {missing}"
    assert any(n.startswith("shared/clickhouse/migrations/") and n.endswith(".sql") for n in names)


def test_installed_code_reads_its_own_copy(installed):
    _, bin_dir, home, env = installed
    found = run([str(bin_dir / "python"), "-c", "import shared.assets as a, services; "
                 "print(a.grafana_dir()); print(a.prometheus_dir()); print(services.__file__)"], cwd=home, env=env)
    paths = [Path(line) for line in found.stdout.split()]
    for path in paths:
        assert path.is_relative_to(bin_dir.parent) and not path.is_relative_to(ROOT), path
    assert (paths[1] / "rules.yml").is_file()


def test_the_users_commands_run_from_the_installed_wheel(installed):
    _, bin_dir, home, env = installed
    richness = str(bin_dir / "richness")
    data_dir = home / "stack"
    try:
        up = run([richness, "up", "--data-dir", str(data_dir)], cwd=home, env=env)
        info = json.loads((data_dir / "stack.json").read_text())
        assert info["ingest_url"] in up.stdout
        run([richness, "simulate", "--events", "400", "--days", "2", "--data-dir", str(data_dir)], cwd=home, env=env)
        run([richness, "drain", "--timeout", "300", "--data-dir", str(data_dir)], cwd=home, env=env)

        rendered = run([richness, "dashboards", "render", "--out", str(home / "png"), "--data-dir", str(data_dir)],
                       cwd=home, env=env)
        boards = sorted(json.loads(p.read_text())["uid"] for p in (ROOT / "grafana" / "dashboards").glob("*.json"))
        pictures = sorted(home.joinpath("png").glob("*.png"))
        assert [p.stem for p in pictures] == boards, rendered.stdout
        assert all(p.read_bytes().startswith(b"\x89PNG") for p in pictures)

        checked = run([richness, "alerts", "check", "--data-dir", str(data_dir)], cwd=home, env=env)
        assert "fire" in checked.stdout  # a verdict, firing or not
    finally:
        down = subprocess.run([richness, "down", "--data-dir", str(data_dir)], cwd=home, env=env,
                              capture_output=True, text=True, timeout=180)
    assert down.returncode == 0 and "stopped:" in down.stdout, down.stdout + down.stderr
    assert not (data_dir / "stack.json").exists()
