"""`richness up` runs Prometheus when it is installed (scraping ingest, processor, accounts and sink with
the project's alert rules, data under DIR, 127.0.0.1 only) and says how to get it when not."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from tests.stack.helpers import richness, wait_for

pytestmark = pytest.mark.stack


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="Debian's prometheus is not installed (make deps)")
def test_up_runs_prometheus_scraping_the_services(tmp_path):
    data_dir = tmp_path / "stack"
    try:
        richness("up", "--data-dir", str(data_dir))
        info = json.loads((data_dir / "stack.json").read_text())
        url = info["prometheus_url"]
        assert url.startswith("http://127.0.0.1:")

        def targets() -> dict[str, str]:
            active = httpx.get(f"{url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
            return {t["labels"]["job"]: t["health"] for t in active}

        wait_for(lambda: targets() == {"ingest": "up", "processor": "up", "accounts": "up", "sink": "up"},
                 what="every target scraped")
        groups = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = {rule["name"] for group in groups for rule in group["rules"]}
        assert {"RichnessServiceDown", "RichnessConsumerLagGrowing"} <= rules  # deploy/prometheus/rules.yml
        up = httpx.get(f"{url}/api/v1/query", params={"query": "sum(up)"}, timeout=10).json()["data"]["result"]
        assert float(up[0]["value"][1]) == 4
        assert any((data_dir / "prometheus" / "data").iterdir())

        if shutil.which("prometheus-alertmanager") or shutil.which("alertmanager"):
            # The pipeline rules' alerts go to the stack's own Alertmanager (receivers: RICHNESS_ALERT_*).
            manager = info["alertmanager_url"]
            assert manager.startswith("http://127.0.0.1:") and httpx.get(f"{manager}/-/ready", timeout=10).status_code == 200
            wait_for(lambda: [a["url"] for a in httpx.get(f"{url}/api/v1/alertmanagers", timeout=10)
                              .json()["data"]["activeAlertmanagers"]] == [f"{manager}/api/v2/alerts"],
                     what="Prometheus sending to the stack's Alertmanager")
            status = json.loads(richness("status", "--data-dir", str(data_dir), "--json").stdout)
            assert "alertmanager" in [row["name"] for row in status]

        drawn = richness("dashboards", "render", "--data-dir", str(data_dir), "--dashboard", "richness-pipeline",
                         "--out", str(tmp_path / "png"), "--from", "now-5m").stdout
        assert f"Prometheus: {url}" in drawn and (tmp_path / "png" / "richness-pipeline.png").stat().st_size > 0
    finally:
        richness("down", "--data-dir", str(data_dir), check=False)


def test_up_without_prometheus_says_how_to_get_it_and_goes_on(tmp_path):
    data_dir = tmp_path / "stack"
    # Everything the stack runs is found by absolute path; without /usr/bin on PATH there is no prometheus.
    env = {"PATH": str(Path(sys.executable).parent)}
    try:
        result = richness("up", "--data-dir", str(data_dir), env=env)
        assert "Prometheus is not installed" in result.stderr and "apt-get install prometheus" in result.stderr
        info = json.loads((data_dir / "stack.json").read_text())
        assert info["prometheus_url"] is None
        status = json.loads(richness("status", "--data-dir", str(data_dir), "--json").stdout)
        assert "prometheus" not in [row["name"] for row in status]
    finally:
        richness("down", "--data-dir", str(data_dir), check=False)
