"""richness dashboards render / alerts check: one PNG per dashboard from the seeded data, the
pipeline-health panels from a real Prometheus that scraped the pipeline at work."""
from __future__ import annotations

from datetime import timedelta

import pytest
from PIL import Image
from typer.testing import CliRunner

from services.cli import main as cli
from services.cli.main import app
from services.dashboards.render import load_panels, render_dashboards
from shared.grafana import provisioning
from tests.grafana.conftest import DATA_RANGE, NOW

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]

PIPELINE = next(d for d in provisioning.dashboards() if d["uid"] == "richness-pipeline")


def test_every_dashboard_is_drawn_to_a_png(seeded, tmp_path):
    paths = render_dashboards(seeded.settings, tmp_path, DATA_RANGE.start, DATA_RANGE.end, account=["o'brien", "steady"],
                              prometheus_url=seeded.prometheus_url, scrape_interval="1s")
    assert sorted(p.name for p in paths) == sorted(f"{d['uid']}.png" for d in provisioning.dashboards())
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 1500 and image.height > 900, path
            assert len(image.convert("L").getcolors(256) or range(257)) > 20, f"{path} looks blank"


def test_pipeline_health_panels_show_what_prometheus_scraped(seeded):
    data = load_panels(None, PIPELINE, seeded.prometheus_range, [], seeded.prometheus_url, scrape_interval="1s")
    assert len(data) == len(list(provisioning.panels(PIPELINE)))
    for panel in data:
        assert panel.note is None and panel.series, f"{panel.panel['title']}: no series from {panel.queries}"
        assert any(len(s.values) >= 2 for s in panel.series), panel.panel["title"]
    ingest = next(p for p in data if p.panel["title"] == "Ingest requests by status")
    assert {s.name for s in ingest.series} == {"202"}
    accepted = next(s for p in data if p.panel["title"] == "Events accepted and rejected" for s in p.series)
    assert max(accepted.values) > 0


def test_without_prometheus_its_panels_say_so(seeded):
    data = load_panels(None, PIPELINE, seeded.prometheus_range, [], None)
    assert all(p.note and "No Prometheus" in p.note and p.queries and not p.series for p in data)


def test_the_commands(seeded, tmp_path, monkeypatch):
    settings = seeded.settings
    for name, value in {"RICHNESS_CLICKHOUSE_URL": settings.clickhouse_url,
                        "RICHNESS_CLICKHOUSE_READER_USER": settings.clickhouse_reader_user,
                        "RICHNESS_CLICKHOUSE_READER_PASSWORD": settings.clickhouse_reader_password.get_secret_value()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli.console, "width", 200)  # no line wrapping in the table
    no_stack = ["--data-dir", str(tmp_path / "no-stack")]  # settings from the environment
    runner = CliRunner()
    rendered = runner.invoke(app, ["dashboards", "render", "--out", str(tmp_path / "png"), "--from",
                                   DATA_RANGE.start.isoformat(), "--to", DATA_RANGE.end.isoformat(),
                                   "--dashboard", "richness-traffic", "--account", "back\\slash", *no_stack])
    assert rendered.exit_code == 0, rendered.output
    assert (tmp_path / "png" / "richness-traffic.png").stat().st_size > 50_000
    unknown = runner.invoke(app, ["dashboards", "render", "--out", str(tmp_path / "png"), "--account", "nobody",
                                  "--dashboard", "richness-traffic", *no_stack])
    assert unknown.exit_code == 1 and "not among the dashboard's choices" in unknown.output

    checked = runner.invoke(app, ["alerts", "check", "--at", NOW.isoformat(), *no_stack])
    assert checked.exit_code == 0, checked.output
    assert "account=dropping" in checked.output and "Replies received dropped" in checked.output
    assert "account=recalled" in checked.output and "Kept revenue per follower dropped" in checked.output
    quiet = runner.invoke(app, ["alerts", "check", "--at", (NOW - timedelta(days=1)).isoformat(), *no_stack])
    assert quiet.exit_code == 0 and "no rule would fire" in quiet.output
