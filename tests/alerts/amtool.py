"""Debian's amtool (prometheus-alertmanager), run by the tests: Alertmanager's own checks."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest


def amtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    if shutil.which("amtool") is None:
        pytest.fail("amtool is not installed: `make deps` installs Debian's prometheus-alertmanager")
    return subprocess.run(["amtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def render(template_file: Path, name: str, data: dict, workdir: Path) -> str:
    """Alertmanager's rendering of the template ``name`` over notification ``data``."""
    data_file = workdir / "data.json"
    data_file.write_text(json.dumps(data))
    result = amtool("template", "render", f"--template.glob={template_file}",
                    f'--template.text={{{{ template "{name}" . }}}}', f"--template.data={data_file}")
    assert result.returncode == 0, result.stderr
    return result.stdout
