"""The dashboards stage of richness bench at a tiny size (figures, not speed, are checked): the
simulator's events go through the pipeline, and every provisioned ClickHouse query runs over
7 and 30 days, with All and with the busiest account."""
from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import datetime, timezone

import pytest

from services.bench import dashboards
from services.bench.run import Bench, Plan

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


@pytest.fixture(scope="module")
def bench():
    with Bench(Plan(), report=lambda line: None) as bench:
        yield bench
    shutil.rmtree(bench.dir, ignore_errors=True)


def test_every_query_runs_over_both_ranges_with_all_and_the_busiest_account(bench, tmp_path):
    load = dashboards.Load(4_000, accounts=200)
    with dashboards.LoadedStack(bench, tmp_path) as stack:
        stack.load(load, report=lambda line: None)
        assert stack.sent > 3_000
        samples = dashboards.time_queries(stack.reader(), datetime.now(timezone.utc), repeats=2)
    runs = defaultdict(list)
    for sample in samples:
        runs[sample.source].append((sample.range_days, sample.selection))
        assert sample.ms > 0
    assert set(runs) == set(dashboards.provisioned_queries())
    for source, seen in runs.items():
        if source.kind == "alert":
            assert seen == [(None, None)] * 2, source
        else:
            selections = {selection for _, selection in seen}
            assert len(seen) == 2 * 2 * 2 and dashboards.ALL in selections and len(selections) == 2, source
            assert sorted({days for days, _ in seen}) == [7, 30], source
    # A panel returns rows for the busiest account (it had replies or clicks in the range).
    busiest = next(s for s in samples if s.source.title == "Replies received per day" and s.selection != dashboards.ALL)
    assert busiest.rows > 0


def test_the_figures_of_each_size_and_of_the_largest(bench):
    lines: list[str] = []
    figures = dashboards.figures(bench, [2_000, 1_000], repeats=1, report=lines.append, accounts=100)
    assert 0 < figures["dashboard_query_p50_ms"] <= figures["dashboard_query_p95_ms"] <= figures["dashboard_query_max_ms"]
    assert [row["events"] for row in figures["dashboard_scaling"]] == sorted(row["events"] for row in figures["dashboard_scaling"])
    assert figures["dashboard_events"] == figures["dashboard_scaling"][-1]["events"] > 1_000
    assert len(figures["dashboard_slowest"]) == 5 and any("p95" in line for line in lines)
    assert not list(bench.dir.glob("dashboards-*"))  # each size's ClickHouse is gone
