"""The file importer, end to end through a real ingest server into the real broker."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from services.importers.checkpoint import checkpoint_path
from services.importers.engine import ImportFailed, RejectedLine, import_file
from services.stack.processes import free_port
from tests.ingest.helpers import API_KEY, Ingest, event, ingest_settings, running_ingest

pytestmark = pytest.mark.broker


def stored_ids(ingest: Ingest) -> Counter[str]:
    return Counter(e.id for e in ingest.events())


def write_ndjson(path: Path, count: int, bad_every: int = 0) -> tuple[list[str], list[int]]:
    """``count`` events with a blank line after every 7th; every ``bad_every``-th one invalid.
    Returns the valid ids and the line numbers of the invalid events."""
    valid, bad_lines, lines = [], [], []
    for i in range(count):
        if bad_every and i % bad_every == bad_every - 1:
            lines.append(msgspec.json.encode(event("follow", id=f"bad{i}", actor="x", target="x")))
            bad_lines.append(len(lines))
        else:
            valid.append(f"ev{i}")
            lines.append(msgspec.json.encode(event("post", id=f"ev{i}")))
        if i % 7 == 6:
            lines.append(b"  ")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return valid, bad_lines


def test_ndjson_import_counts_rejections_by_line_and_reports_progress(ingest, tmp_path):
    source = tmp_path / "events.ndjson"
    valid, bad_lines = write_ndjson(source, 40, bad_every=9)
    seen: list[tuple[int, int]] = []

    summary = import_file(source, ingest.url, API_KEY, batch_size=6, progress=lambda d, t: seen.append((d, t)))

    assert (summary.sent, summary.accepted, summary.rejected) == (40, 36, 4)
    assert [e.line for e in summary.errors] == bad_lines
    assert all(e.id.startswith("bad") and "must differ from `actor`" in e.error for e in summary.errors)
    assert stored_ids(ingest) == Counter(valid)
    size = source.stat().st_size
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert json.loads(checkpoint_path(source).read_text())["position"]["offset"] == size


def test_rerun_after_completion_sends_nothing(ingest, tmp_path):
    source = tmp_path / "events.jsonl"
    valid, _ = write_ndjson(source, 12)
    first = import_file(source, ingest.url, API_KEY, batch_size=5)
    again = import_file(source, ingest.url, API_KEY, batch_size=5)
    assert (again.sent, again.accepted, again.rejected) == (first.sent, first.accepted, 0) == (12, 12, 0)
    assert again.resumed_from_line == len(source.read_bytes().splitlines())
    assert stored_ids(ingest) == Counter(valid)  # each exactly once


class Interrupted(Exception):
    pass


def test_resume_after_interruption_does_not_resend_acknowledged_lines(ingest, tmp_path):
    source = tmp_path / "events.ndjson"
    valid, _ = write_ndjson(source, 50)
    calls = 0

    def crash_after_two_batches(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # the initial report, then two acknowledged batches
            raise Interrupted

    with pytest.raises(Interrupted):
        import_file(source, ingest.url, API_KEY, batch_size=10, progress=crash_after_two_batches)
    assert sum(stored_ids(ingest).values()) == 20

    summary = import_file(source, ingest.url, API_KEY, batch_size=10)
    assert summary.resumed_from_line > 0
    assert (summary.sent, summary.accepted) == (50, 50)  # totals include the interrupted run
    assert stored_ids(ingest) == Counter(valid)  # nothing sent twice


def test_changed_input_starts_over(ingest, tmp_path):
    source = tmp_path / "events.ndjson"
    write_ndjson(source, 5)
    import_file(source, ingest.url, API_KEY)
    with open(source, "ab") as more:
        more.write(msgspec.json.encode(event("post", id="late")) + b"\n")
    summary = import_file(source, ingest.url, API_KEY)
    assert (summary.sent, summary.resumed_from_line) == (6, 0)


def test_csv_import_with_empty_cells_quoted_newlines_and_bad_rows(ingest, tmp_path):
    source = tmp_path / "events.csv"
    source.write_text(
        "\ufeffid,type,ts,actor,target,post_id,parent_id,root_id,url,campaign\n"  # line 1
        "c1,post,2026-11-20T09:00:00Z,ameena,,p1,,,,spring\n"  # 2
        "c2,reply,1795165500000,robert,,r1,p1,p1,,\n"  # 3
        'c3,click,1795165500000,,ameena,p1,,,"https://example.org/a?x=1,2",\n'  # 4
        'c4,post,1795165500000,"multi\nline ""actor""",,p2,,,,\n'  # 5-6
        "c5,follow,1795165500000,sharon,sharon,,,,,\n"  # 7: self-follow, rejected by the API
        "c6,follow,1795165500000,sharon\n"  # 8: wrong column count, never sent
        "\n"  # 9
        "c7,follow,2026-11-20T10:00:00+01:00,sharon,ameena,,,,,\n",  # 10
        encoding="utf-8")

    summary = import_file(source, ingest.url, API_KEY, batch_size=2)

    assert (summary.sent, summary.accepted, summary.rejected) == (6, 5, 2)
    assert [(e.line, e.id) for e in summary.errors] == [(7, "c5"), (8, None)]
    assert summary.errors[1] == RejectedLine(8, None, "expected 10 CSV columns, got 4")
    events = {e.id: e for e in ingest.events()}
    assert set(events) == {"c1", "c2", "c3", "c4", "c7"}
    assert events["c1"].ts == 1795165200000 and events["c7"].ts == 1795165200000
    assert events["c3"].actor is None and events["c3"].url == "https://example.org/a?x=1,2"
    assert events["c4"].actor == 'multi\nline "actor"'


def test_retries_connection_errors_until_the_api_is_up(kafka_settings, tmp_path):
    source = tmp_path / "events.ndjson"
    valid, _ = write_ndjson(source, 10)
    settings = ingest_settings(kafka_settings, ingest_port=free_port())
    outcome: list = []
    importer = threading.Thread(target=lambda: outcome.append(
        import_file(source, f"http://127.0.0.1:{settings.ingest_port}", API_KEY, max_attempts=10)))
    importer.start()
    time.sleep(1.0)  # the importer meets refused connections meanwhile
    with running_ingest(settings) as ingest:
        importer.join(timeout=60)
        assert outcome and outcome[0].accepted == 10
        assert stored_ids(ingest) == Counter(valid)


def test_gives_up_with_a_clear_error_and_keeps_the_checkpoint(tmp_path):
    source = tmp_path / "events.ndjson"
    write_ndjson(source, 3)
    with pytest.raises(ImportFailed, match="run the import again"):
        import_file(source, f"http://127.0.0.1:{free_port()}", API_KEY, max_attempts=2, max_backoff_s=0.01)
    assert not checkpoint_path(source).exists()


def test_wrong_key_stops_the_import(ingest, tmp_path):
    source = tmp_path / "events.ndjson"
    write_ndjson(source, 3)
    with pytest.raises(ImportFailed, match="401"):
        import_file(source, ingest.url, "not-the-key")
    assert ingest.records() == []
