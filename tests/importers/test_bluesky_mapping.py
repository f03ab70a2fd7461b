"""Jetstream events to contract events: posts and replies by at-URI, follows and the unfollows
resolved from follows seen earlier, likes and reposts, and everything else reported."""
from __future__ import annotations

import json

from services.importers.formats.bluesky import decode, map_message
from tests.importers.helpers import FIXTURES, by_id, convert

ROOT = "at://did:plc:ameena/app.bsky.feed.post/3mb2root00001"


class Follows(dict):
    def remember(self, did, rkey, subject):
        self[(did, rkey)] = subject

    def recall(self, did, rkey):
        return self.get((did, rkey))


def mapped(lines: list[str], follows: Follows | None = None):
    follows = Follows() if follows is None else follows
    return [map_message(decode(line), follows) for line in lines]


def fixture_lines() -> list[str]:
    return (FIXTURES / "bluesky/jetstream.ndjson").read_text().splitlines()


def test_posts_replies_likes_and_reposts():
    events = by_id([e for o in mapped(fixture_lines()) for e in o.events])
    assert events[f"bsky:{ROOT}"] == {"id": f"bsky:{ROOT}", "type": "post", "ts": 1795165200000,
                                      "actor": "did:plc:ameena", "post_id": ROOT}
    reply = events["bsky:at://did:plc:sharon/app.bsky.feed.post/3mb2reply0003"]
    assert (reply["type"], reply["parent_id"], reply["root_id"]) == (
        "reply", "at://did:plc:ameena/app.bsky.feed.post/3mb2reply0002", ROOT)
    like = events["bsky:at://did:plc:robert/app.bsky.feed.like/3mb2like00001"]
    share = events["bsky:at://did:plc:sharon/app.bsky.feed.repost/3mb2repost001"]
    assert (like["type"], like["actor"], like["target"], like["post_id"]) == ("like", "did:plc:robert",
                                                                              "did:plc:ameena", ROOT)
    assert (share["type"], share["target"], share["post_id"]) == ("share", "did:plc:ameena", ROOT)


def test_unfollow_resolved_from_the_follow_seen_before_else_reported():
    follows = Follows()
    outcomes = mapped(fixture_lines(), follows)
    events = by_id([e for o in outcomes for e in o.events])
    unfollow = events["bsky:at://did:plc:robert/app.bsky.graph.follow/3mb2follow001:unfollow"]
    assert unfollow == {"id": unfollow["id"], "type": "unfollow", "ts": 1795167600100, "actor": "did:plc:robert",
                        "target": "did:plc:ameena"}
    skipped = {s.code: s.detail for o in outcomes for s in o.skips}
    assert skipped["bsky_unfollow_unknown"] == "at://did:plc:robert/app.bsky.graph.follow/3mb2oldfollow"
    # A later stream (or the connector after a restart) resolves it from what was remembered.
    later = mapped(['{"did":"did:plc:sharon","time_us":1795169000000000,"kind":"commit","commit":'
                    '{"rev":"r","operation":"delete","collection":"app.bsky.graph.follow","rkey":"3mb2follow002"}}'],
                   follows)
    assert later[0].events[0]["target"] == "did:plc:ameena"


def test_what_has_no_event_is_reported_by_reason():
    skipped = sorted(s.code for o in mapped(fixture_lines()) for s in o.skips)
    assert skipped == ["bsky_not_a_commit", "bsky_not_a_commit", "bsky_other_record", "bsky_undo",
                       "bsky_unfollow_unknown"]


def test_created_at_later_than_the_stream_saw_it_uses_the_stream_time():
    [outcome] = mapped([fixture_lines()[-1]])
    assert outcome.events[0]["ts"] == 1795168000100 and outcome.notes[0].code == "bsky_created_after_seen"
    line = json.loads(fixture_lines()[0])
    del line["commit"]["record"]["createdAt"]
    [outcome] = mapped([json.dumps(line)])
    assert outcome.events[0]["ts"] == 1795165200100 and outcome.notes[0].code == "bsky_no_created_at"


def test_importing_twice_maps_to_the_same_ids(tmp_path):
    first, summary = convert(FIXTURES / "bluesky/jetstream.ndjson", tmp_path)
    again, _ = convert(FIXTURES / "bluesky/jetstream.ndjson", tmp_path)
    assert summary.format == "bluesky" and first == again and len(first) == 11
    assert summary.skipped["bsky_unfollow_unknown"].count == 1
