"""`richness import FILE` against the local stack: progress, summary, rejected lines, resume."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.stack.helpers import richness

pytestmark = pytest.mark.stack


def test_import_reports_rejections_and_resumes_without_doubling(tmp_path):
    data_dir = str(tmp_path / "stack")
    events = tmp_path / "events.ndjson"
    events.write_text("\n".join([
        json.dumps({"id": "i1", "type": "post", "ts": "2026-11-20T09:00:00Z", "actor": "ameena", "post_id": "p1"}),
        json.dumps({"id": "i2", "type": "follow", "ts": "2026-11-20T09:00:00Z", "actor": "bob", "target": "bob"}),
        json.dumps({"id": "i3", "type": "follow", "ts": "2026-11-20T09:00:00Z", "actor": "bob", "target": "ameena"}),
    ]) + "\n")
    try:
        richness("up", "--data-dir", data_dir)
        first = richness("import", str(events), "--data-dir", data_dir, check=False)
        assert first.returncode == 1, first.stdout + first.stderr
        assert "2 accepted" in first.stdout and "1 rejected" in first.stdout
        assert "`target` must differ from `actor`" in first.stdout and "i2" in first.stdout

        second = richness("import", str(events), "--data-dir", data_dir, check=False)
        assert "resumed after line 3" in second.stdout
        richness("drain", "--data-dir", data_dir, "--timeout", "60")
        info = json.loads((tmp_path / "stack" / "stack.json").read_text())
        count = httpx.post(info["clickhouse_url"], content=b"SELECT count() FROM richness.events",
                           auth=(info["clickhouse_reader_user"], info["clickhouse_reader_password"])).text
        assert count.strip() == "2"
    finally:
        richness("down", "--data-dir", data_dir, check=False)


def test_import_without_a_stack_says_what_to_do(tmp_path):
    events = tmp_path / "e.ndjson"
    events.write_text("{}\n")
    result = richness("import", str(events), "--data-dir", str(tmp_path / "none"), check=False)
    assert result.returncode == 1
    assert "richness up" in result.stderr and "--ingest-url" in result.stderr
