"""`richness up` with RICHNESS_KAFKA_BOOTSTRAP set uses that Kafka instead of starting its own."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.stack.helpers import richness

pytestmark = [pytest.mark.stack, pytest.mark.broker]


def test_up_uses_the_given_kafka(broker, tmp_path):
    data_dir = str(tmp_path / "stack")
    env = {"RICHNESS_KAFKA_BOOTSTRAP": broker.bootstrap, "RICHNESS_KAFKA_COMPAT": "tansu"}
    try:
        richness("up", "--data-dir", data_dir, env=env)
        status = json.loads(richness("status", "--data-dir", data_dir, "--json").stdout)
        names = [c["name"] for c in status]
        assert names[:6] == ["supervisor", "clickhouse", "ingest", "processor", "accounts", "sink"]  # no broker, no log store
        info = json.loads((tmp_path / "stack" / "stack.json").read_text())
        assert info["kafka_bootstrap"] == broker.bootstrap and info["event_log"] == "external"
        response = httpx.post(f"{info['ingest_url']}/v1/events", headers={"Authorization": f"Bearer {info['api_key']}"},
                              json={"id": "x1", "type": "post", "ts": "2026-11-20T09:00:00Z", "actor": "a", "post_id": "p"})
        assert response.status_code == 202
        richness("drain", "--data-dir", data_dir, "--timeout", "60")
    finally:
        richness("down", "--data-dir", data_dir, check=False)
