"""deploy/prometheus/rules.yml passes its promtool unit tests, and those tests can fail."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not installed: `make deps` installs Debian's prometheus package")
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_rules_and_config_are_valid():
    rules = promtool("check", "rules", "rules.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_rule_unit_tests_pass():
    result = promtool("test", "rules", "rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("expectation, wrong", [
    ("summary: \"5.5% of ingest requests", "summary: \"9.9% of ingest requests"),  # a wrong annotation
    ("      - eval_time: 45m\n        alertname: RichnessDeadLetters\n        exp_alerts: []",
     "      - eval_time: 45m\n        alertname: RichnessDeadLetters\n        exp_alerts:\n"
     "          - exp_labels: {severity: warning, job: sink, instance: \"s1:9102\", reason: permanent}"),  # an alert that does not fire
])
def test_a_wrong_expectation_fails(tmp_path, expectation, wrong):
    tests = (PROMETHEUS_DIR / "rules.test.yml").read_text()
    assert expectation in tests
    shutil.copy(PROMETHEUS_DIR / "rules.yml", tmp_path / "rules.yml")
    (tmp_path / "rules.test.yml").write_text(tests.replace(expectation, wrong))
    result = promtool("test", "rules", "rules.test.yml", cwd=tmp_path)
    assert result.returncode == 1 and "FAILED" in result.stdout + result.stderr
