"""Resuming platform imports through a real ingest server: JSON documents resume by item, and a
record whose events fill more than one batch completes in the next — nothing lost, nothing sent
twice."""
from __future__ import annotations

import shutil
from collections import Counter

import pytest

from services.importers.engine import import_file
from services.importers.sources import ImportOptions
from tests.importers.helpers import FIXTURES, convert
from tests.ingest.helpers import API_KEY

pytestmark = pytest.mark.broker


class Interrupted(Exception):
    pass


def interrupt_after(acknowledged: int):
    calls = 0

    def progress(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == acknowledged + 1:  # the initial report, then one per acknowledged batch
            raise Interrupted
    return progress


def test_x_archive_resumes_by_item(ingest, tmp_path):
    shutil.copytree(FIXTURES / "x-archive/data", tmp_path / "data")
    tweets, options = tmp_path / "data/tweets.js", ImportOptions(state_dir=tmp_path / "state")
    with pytest.raises(Interrupted):
        import_file(tweets, ingest.url, API_KEY, batch_size=2, options=options, progress=interrupt_after(1))
    summary = import_file(tweets, ingest.url, API_KEY, batch_size=2, options=options)
    expected, _ = convert(tweets, tmp_path / "dry")
    assert summary.unit == "item" and summary.resumed_from == 2  # two tweets (one event each) were done
    assert summary.sent == len(expected) and summary.skipped["root_unknown"].count == 1
    stored = Counter(e.id for e in ingest.events())
    assert stored == Counter(e["id"] for e in expected)  # each exactly once, across both runs


def test_a_comment_tree_larger_than_a_batch_completes_after_a_resume(ingest, tmp_path):
    page = tmp_path / "thread.json"
    shutil.copy(FIXTURES / "reddit/comments_page.json", page)
    # Item 2 is c1 with its nested replies: four events in batches of three.
    with pytest.raises(Interrupted):
        import_file(page, ingest.url, API_KEY, batch_size=3, progress=interrupt_after(1))
    assert len(ingest.events()) == 3  # the post and c1, c2: item 2 is not complete
    summary = import_file(page, ingest.url, API_KEY, batch_size=3)
    assert summary.resumed_from == 1 and summary.skipped["reddit_more"].count == 1
    expected, _ = convert(page, tmp_path / "dry")
    counts = Counter(e.id for e in ingest.events())
    assert set(counts) == {e["id"] for e in expected}
    assert counts["reddit:t3_r1"] == 1 and counts["reddit:t1_c4"] == 1
    assert counts["reddit:t1_c1"] == 2  # sent before the interruption, again with its item: deduplicated downstream
