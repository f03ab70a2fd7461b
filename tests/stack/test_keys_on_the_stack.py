"""The local stack's ingest reads the keys file of its data directory: its own key is the named
key "local", and keys created or revoked with ``richness keys`` apply while it runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.stack

RICHNESS = str(Path(sys.executable).with_name("richness"))
EVENT = {"id": "k1", "type": "post", "ts": "2026-11-20T09:00:00Z", "actor": "ameena", "post_id": "p1"}


def richness(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RICHNESS_")}
    result = subprocess.run([RICHNESS, *args], capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, f"richness {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def test_keys_managed_with_richness_keys_apply_to_the_running_stack(tmp_path):
    data_dir = str(tmp_path / "stack")
    try:
        richness("up", "--data-dir", data_dir)
        info = json.loads((tmp_path / "stack" / "stack.json").read_text())
        listed = json.loads(richness("keys", "list", "--json", "--data-dir", data_dir).stdout)
        assert [(k["name"], k["revoked_at"]) for k in listed] == [("local", None)]
        assert info["api_key"].startswith(listed[0]["hint"])

        secret = richness("keys", "create", "partner", "--data-dir", data_dir).stdout.strip()

        def post(key: str) -> int:
            return httpx.post(f"{info['ingest_url']}/v1/events", json=[EVENT],
                              headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code

        assert post(secret) == 202 and post(info["api_key"]) == 202
        richness("keys", "revoke", "partner", "--data-dir", data_dir)
        assert post(secret) == 401 and post(info["api_key"]) == 202
        metrics = httpx.get(f"{info['ingest_url']}/metrics", timeout=30).text
        assert 'richness_ingest_key_requests_total{key="partner",status="401"} 1.0' in metrics
        assert 'richness_ingest_key_requests_total{key="local",status="202"} 2.0' in metrics

        # down/up keeps the keys: the revoked one stays revoked, the stack's own still works.
        richness("down", "--data-dir", data_dir)
        richness("up", "--data-dir", data_dir)
        info = json.loads((tmp_path / "stack" / "stack.json").read_text())
        assert post(secret) == 401 and post(info["api_key"]) == 202
    finally:
        subprocess.run([RICHNESS, "down", "--data-dir", data_dir], capture_output=True, timeout=180)
