"""The cluster benchmark measures what it says on one server and on two shards (tiny sizes:
figures, not speed, are checked)."""
from __future__ import annotations

import pytest

from services.bench.cluster import ClusterPlan, run_cluster

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]


def test_sink_inserts_and_dashboards_are_measured_on_one_server_and_two_shards(tmp_path):
    lines: list[str] = []
    plan = ClusterPlan(events=160_000, route_rows=20_000, accounts=40, followers_per_account=5,
                       threads_per_account=3, query_repeats=1)
    figures = run_cluster(plan, report=lines.append, workdir=tmp_path)["cluster"]
    for shape in ("one_server", "two_shards"):
        for name in ("sink_rows_per_s", "insert_rows_per_s", "dashboard_all_p95_ms", "dashboard_one_account_p95_ms"):
            assert figures[shape][name] > 0, (shape, name)
        assert figures[shape]["dashboard_all_queries"] >= figures[shape]["dashboard_one_account_queries"] > 0
    assert figures["two_shards"]["direct_rows_per_s"] > 0 and "direct_rows_per_s" not in figures["one_server"]
    assert set(figures["ratio_two_shards_to_one"]) == {"sink_rows_per_s", "insert_rows_per_s",
                                                       "dashboard_all_p95_ms", "dashboard_one_account_p95_ms"}
    assert any(line.startswith("two_shards: dashboard p95") for line in lines)
    assert not list(tmp_path.iterdir())  # its servers, broker and data are gone
