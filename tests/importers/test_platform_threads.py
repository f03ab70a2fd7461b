"""Each platform's fixtures imported through the real pipeline (ingest → Kafka → processor →
sink → ClickHouse): the conversations in ``threads`` equal the reference implementation's on the
mapped events, and importing again — the same file, an overlapping one — doubles nothing."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from services.importers.engine import ImportSummary, import_file
from services.importers.sources import ImportOptions
from shared.events import parse_event
from tests.importers.helpers import FIXTURES, convert
from tests.pipeline.harness import Pipeline, normalise, reference_rows

pytestmark = [pytest.mark.broker, pytest.mark.clickhouse]

AS_OF = datetime(2026, 11, 21, tzinfo=timezone.utc)
V1_THREAD_COLUMNS = ("root_id", "owner", "replies", "max_depth", "participants", "owner_replies", "first_reply_at",
                     "last_reply_at")


@pytest.fixture(scope="module")
def pipeline(broker, clickhouse, tmp_path_factory):
    pipe = Pipeline(broker, clickhouse, tmp_path_factory.mktemp("logs"))
    try:
        pipe.start()
        yield pipe
    finally:
        pipe.stop_all()  # also what started before a component failed to come up


def send(pipeline: Pipeline, path: Path, state: Path, restart: bool = False, **options) -> ImportSummary:
    """Import a copy of the fixture (its checkpoint is written next to it, not in the source tree)."""
    copy = state / "files" / path.relative_to(FIXTURES)
    if not copy.exists():
        shutil.copytree(path.parent, copy.parent, dirs_exist_ok=True)
    return import_file(copy, pipeline.ingest_url, pipeline.api_key, batch_size=4, restart=restart,
                       options=ImportOptions(state_dir=state, **options))


def mapped(files: list[tuple[Path, dict]], state: Path) -> list[dict]:
    """What the files map to, in import order, deduplicated by id (the first wins, as downstream)."""
    events: dict[str, dict] = {}
    for path, options in files:
        for event in convert(path, state, **options)[0]:
            events.setdefault(event["id"], event)
    return list(events.values())


def check(pipeline: Pipeline, events: list[dict], prefix: str) -> dict[str, dict]:
    """richness.events holds exactly the mapped events of this platform, once each, and its
    threads rows are the reference's; returns the threads rows by root."""
    pipeline.drain()
    db = pipeline.settings.clickhouse_database
    expected = events
    stored = pipeline.client.query(f"SELECT id, type, ts, actor, target, post_id, parent_id, root_id FROM {db}.events "
                                   "WHERE startsWith(id, %(prefix)s)", parameters={"prefix": prefix}).named_results()
    stored = {row["id"]: normalise(row) for row in stored}
    assert sorted(stored) == sorted(e["id"] for e in expected)
    for event in expected:
        row = stored[event["id"]]
        assert {k: v for k, v in row.items() if v is not None} == {k: v for k, v in event.items() if k != "url"}

    want = reference_rows(parse_event(json.dumps(e)) for e in expected)["threads"]
    roots = [row["root_id"] for row in want]
    got = pipeline.client.query(f"SELECT * FROM {db}.threads WHERE has(%(roots)s, root_id) ORDER BY root_id",
                                parameters={"roots": roots}, settings={"readonly": 1}).named_results()
    got = [normalise(row) for row in got]
    # Every column the view has that the reference computes: the v1.1 ones (h_index, shares,
    # likes) as soon as the schema has them.
    columns = [c for c in want[0] if c in got[0]] if got and want else []
    assert set(V1_THREAD_COLUMNS) <= set(columns) or not want
    assert [{c: row[c] for c in columns} for row in got] == [{c: row[c] for c in columns} for row in want]
    return {row["root_id"]: row for row in got}


def thread(row: dict) -> tuple:
    return row["owner"], row["replies"], row["max_depth"], row["participants"], row["owner_replies"]


def test_reddit(pipeline, tmp_path):
    page, dump = FIXTURES / "reddit/comments_page.json", FIXTURES / "reddit/pushshift.ndjson"
    first = send(pipeline, page, tmp_path)
    assert (first.format, first.accepted, first.skipped["reddit_more"].count) == ("reddit", 6, 1)
    send(pipeline, dump, tmp_path)  # overlaps the page (t1_c4)
    send(pipeline, page, tmp_path, restart=True)  # and the same file again
    threads = check(pipeline, mapped([(page, {}), (dump, {})], tmp_path / "dry"), "reddit:")
    # c1 ← c2 ← c3 ([deleted]) ← c4, c5, c1 ← c6 ← c7 (before its parent in the dump), c9 (parent not imported)
    assert thread(threads["t3_r1"]) == ("ameena", 8, 4, 3, 2)
    assert thread(threads["t3_r2"]) == ("[deleted]", 1, 1, 1, 0)


def test_hackernews(pipeline, tmp_path):
    items, later = FIXTURES / "hackernews/items.json", FIXTURES / "hackernews/later.ndjson"
    first = send(pipeline, items, tmp_path)
    assert first.skipped["root_unknown"].count == 1  # hn:9010: its parent hn:8999 is not in the file
    send(pipeline, later, tmp_path)  # brings hn:8999 and its story; overlaps with hn:9004
    again = send(pipeline, items, tmp_path, restart=True)  # now hn:9010 has a root
    assert "root_unknown" not in again.skipped
    threads = check(pipeline, mapped([(items, {}), (later, {}), (items, {})], tmp_path / "dry"), "hn:")
    assert thread(threads["hn:9001"]) == ("pg", 4, 4, 3, 1)  # 9002 ← 9003 [deleted] ← 9004 ← 9005 (pg)
    assert thread(threads["hn:8998"]) == ("sama", 2, 2, 1, 1)


def test_bluesky(pipeline, tmp_path):
    stream = FIXTURES / "bluesky/jetstream.ndjson"
    first = send(pipeline, stream, tmp_path)
    assert first.skipped["bsky_unfollow_unknown"].count == 1
    send(pipeline, stream, tmp_path, restart=True)
    threads = check(pipeline, mapped([(stream, {})], tmp_path / "dry"), "bsky:")
    root = threads["at://did:plc:ameena/app.bsky.feed.post/3mb2root00001"]
    assert thread(root) == ("did:plc:ameena", 5, 4, 2, 1)  # one reply answers a deleted account's post: no depth


def test_mastodon(pipeline, tmp_path):
    context, own = FIXTURES / "mastodon/context.json", FIXTURES / "mastodon/statuses.json"
    following = FIXTURES / "mastodon/following_accounts.csv"
    follow_options = {"actor": "ameena@social.example", "as_of": AS_OF}
    first = send(pipeline, context, tmp_path)
    assert first.skipped["root_unknown"].count == 3  # /context leaves out the status itself
    send(pipeline, own, tmp_path)  # holds it (and a reblog of the root)
    send(pipeline, context, tmp_path, restart=True)
    send(pipeline, following, tmp_path, **follow_options)
    files = [(context, {}), (own, {}), (context, {}), (following, follow_options)]
    threads = check(pipeline, mapped(files, tmp_path / "dry"), "mastodon:")
    assert thread(threads["mastodon:113500000000000100"]) == ("ameena@social.example", 3, 3, 1, 1)


def test_x_archive(pipeline, tmp_path):
    data = FIXTURES / "x-archive/data"
    send(pipeline, data / "tweets.js", tmp_path)
    send(pipeline, data / "tweets.js", tmp_path, restart=True)
    for name in ("follower.js", "following.js"):
        send(pipeline, data / name, tmp_path, as_of=AS_OF)
    files = [(data / "tweets.js", {})] + [(data / name, {"as_of": AS_OF}) for name in ("follower.js", "following.js")]
    threads = check(pipeline, mapped(files, tmp_path / "dry"), "x:")
    assert thread(threads["x:2001"]) == ("1001", 3, 3, 0, 3)  # a self-thread, one reply listed before its parent
