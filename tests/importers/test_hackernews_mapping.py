"""Hacker News items to contract events: roots found by walking parents through the items
imported (in any order, across imports), deleted authors, what is not a conversation."""
from __future__ import annotations

import pytest

from services.importers.formats.hackernews import Item, links, map_item
from services.importers.mapping import Unmappable, Unrooted
from tests.importers.helpers import FIXTURES, by_id, convert


def roots(mapping: dict[str, str]):
    return lambda post: mapping.get(post, Unrooted("hn:1"))


def test_story_keeps_its_url_and_comment_gets_the_root_it_is_given():
    story = Item(id=1, type="story", by="pg", time=1795165200, url="https://example.org")
    comment = Item(id=2, type="comment", by="dang", time=1795165300, parent=1)
    assert map_item(story, roots({})).events == [{"id": "hn:1", "type": "post", "ts": 1795165200000, "actor": "pg",
                                                  "post_id": "hn:1", "url": "https://example.org"}]
    assert map_item(comment, roots({"hn:2": "hn:1"})).events == [
        {"id": "hn:2", "type": "reply", "ts": 1795165300000, "actor": "dang", "post_id": "hn:2",
         "parent_id": "hn:1", "root_id": "hn:1"}]
    assert list(links(comment)) == [("hn:2", "hn:1")] and list(links(story)) == [("hn:1", None)]


def test_deleted_item_is_kept_as_deleted_and_says_so():
    outcome = map_item(Item(id=3, type="comment", deleted=True, time=1795165400, parent=2), roots({"hn:3": "hn:1"}))
    assert outcome.events[0]["actor"] == "[deleted]" and [n.code for n in outcome.notes] == ["hn_deleted"]


def test_unknown_root_is_reported_not_guessed():
    outcome = map_item(Item(id=4, type="comment", by="x", time=1795165400, parent=3), lambda _: Unrooted("hn:3"))
    assert outcome.events == [] and outcome.skips[0].code == "root_unknown" and "hn:3" in outcome.skips[0].detail


def test_undeleted_item_without_author_is_unmappable():
    with pytest.raises(Unmappable, match="`by`"):
        map_item(Item(id=5, type="story", time=1795165400), roots({}))


def test_fixture_in_any_order_then_its_missing_ancestors_complete_it(tmp_path):
    items = FIXTURES / "hackernews/items.json"
    events, summary = convert(items, tmp_path)
    got = by_id(events)
    assert got["hn:9004"]["root_id"] == "hn:9001" and got["hn:9004"]["parent_id"] == "hn:9003"  # before its parent
    assert got["hn:9003"]["actor"] == "[deleted]"
    assert got["hn:9031"]["root_id"] == "hn:9030"  # a poll is a post
    assert "hn:9010" not in got and summary.skipped["root_unknown"].examples == ["5: hn:9010: no post hn:8999"]
    assert summary.skipped["hn_not_a_conversation"].count == 2  # the job ad, the poll option

    later, _ = convert(FIXTURES / "hackernews/later.ndjson", tmp_path)  # brings hn:8999 and its story
    assert by_id(later)["hn:9005"]["root_id"] == "hn:9001"  # rooted through the earlier file
    again, summary = convert(items, tmp_path)
    assert by_id(again)["hn:9010"]["root_id"] == "hn:8998" and "root_unknown" not in summary.skipped
