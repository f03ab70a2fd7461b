"""Reddit things to contract events: fullnames as ids, link_id as the root, nested replies,
[deleted] authors, 'more' placeholders reported."""
from __future__ import annotations

import json

import pytest

from services.importers.formats.reddit import map_value
from services.importers.mapping import Unmappable
from tests.importers.helpers import FIXTURES, by_id, convert


def test_comments_page_flattens_nested_replies_with_link_id_as_root():
    outcome = map_value(json.loads((FIXTURES / "reddit/comments_page.json").read_text()))
    events = by_id(outcome.events)
    assert events["reddit:t3_r1"] == {"id": "reddit:t3_r1", "type": "post", "ts": 1795165200000,
                                      "actor": "ameena", "post_id": "t3_r1"}
    assert events["reddit:t1_c4"] == {"id": "reddit:t1_c4", "type": "reply", "ts": 1795167300000, "actor": "robert",
                                      "post_id": "t1_c4", "parent_id": "t1_c3", "root_id": "t3_r1"}
    assert events["reddit:t1_c3"]["actor"] == "[deleted]"  # kept as such: the thread below it stays whole
    assert sorted(events) == ["reddit:t1_c1", "reddit:t1_c2", "reddit:t1_c3", "reddit:t1_c4", "reddit:t1_c5",
                              "reddit:t3_r1"]
    [more] = outcome.skips
    assert (more.code, more.detail) == ("reddit_more", "3 under t3_r1")


def test_pushshift_objects_without_envelope_and_string_times():
    lines = [json.loads(line) for line in (FIXTURES / "reddit/pushshift.ndjson").read_text().splitlines()]
    events = by_id([e for line in lines for e in map_value(line).events])
    assert events["reddit:t1_c6"]["ts"] == 1795169100000  # "created_utc": "1795169100"
    assert events["reddit:t3_r2"] == {"id": "reddit:t3_r2", "type": "post", "ts": 1795170000000,
                                      "actor": "[deleted]", "post_id": "t3_r2"}
    assert events["reddit:t1_c9"]["parent_id"] == "t1_c8"  # parent not in the dump: root still known
    assert events["reddit:t1_c9"]["root_id"] == "t3_r1"


def test_flat_listing_and_fractional_times():
    outcome = map_value({"kind": "Listing", "data": {"children": [
        {"kind": "t1", "data": {"id": "x", "author": "a", "created_utc": 1795165200.4567, "parent_id": "t3_p",
                                "link_id": "t3_p", "replies": ""}},
        {"kind": "t2", "data": {"id": "u"}}]}})
    assert outcome.events[0]["ts"] == 1795165200457 and outcome.events[0]["post_id"] == "t1_x"
    assert [s.code for s in outcome.skips] == ["reddit_other_kind"]


def test_a_comment_without_author_is_unmappable_with_its_id():
    with pytest.raises(Unmappable, match="author") as caught:
        map_value({"kind": "t1", "data": {"id": "c", "name": "t1_c", "created_utc": 1, "parent_id": "t3_p",
                                          "link_id": "t3_p"}})
    assert caught.value.id == "t1_c"


@pytest.mark.parametrize("name", ["comments_page.json", "pushshift.ndjson", "listing.json"])
def test_every_layout_is_detected_and_streamed(name, tmp_path):
    events, summary = convert(FIXTURES / "reddit" / name, tmp_path)
    assert summary.format == "reddit" and summary.rejected == 0 and events
    assert len({e["id"] for e in events}) == len(events)
