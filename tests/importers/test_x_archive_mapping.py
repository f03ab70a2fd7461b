"""X archive files to contract events: the owner from account.js, self-threads rooted by walking
replies, retweets as shares of the mentioned account, follower lists only with --as-of."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from services.importers.engine import ImportFailed
from tests.importers.helpers import FIXTURES, by_id, convert

DATA = FIXTURES / "x-archive/data"
AS_OF = datetime(2026, 11, 21, tzinfo=timezone.utc)


def test_tweets_replies_and_retweets(tmp_path):
    events, summary = convert(DATA / "tweets.js", tmp_path)
    got = by_id(events)
    assert summary.format == "x-archive" and "1001 (@ameena, from account.js)" in summary.warnings[0]
    assert got["x:2001"] == {"id": "x:2001", "type": "post", "ts": 1795165200000, "actor": "1001", "post_id": "x:2001"}
    assert (got["x:2004"]["parent_id"], got["x:2004"]["root_id"]) == ("x:2003", "x:2001")  # listed before its parent
    assert got["x:2006"] == {"id": "x:2006", "type": "share", "ts": 1795168200000, "actor": "1001", "target": "1002",
                             "post_id": "x:rt:2006"}
    assert summary.derived["x_retweet_post"].count == 1
    assert summary.skipped["root_unknown"].examples == ["5: x:2005: no post x:3001"]
    assert summary.skipped["x_retweet_author_unknown"].examples == ["7: x:2007"]
    assert set(got) == {"x:2001", "x:2002", "x:2003", "x:2004", "x:2006"}


def test_follower_and_following_files_at_the_as_of_time(tmp_path):
    followers, summary = convert(DATA / "follower.js", tmp_path, as_of=AS_OF)
    following, _ = convert(DATA / "following.js", tmp_path, as_of=AS_OF)
    assert [(e["actor"], e["target"]) for e in followers] == [("1002", "1001"), ("1003", "1001")]
    assert [(e["actor"], e["target"], e["ts"]) for e in following] == [("1001", "1002", 1795219200000)]
    assert any("not the real follow times" in w for w in summary.warnings)
    with pytest.raises(ImportFailed, match="--as-of"):
        convert(DATA / "follower.js", tmp_path)


def test_without_account_js_the_owner_must_be_given(tmp_path):
    alone = tmp_path / "tweets.js"
    shutil.copy(DATA / "tweets.js", alone)
    with pytest.raises(ImportFailed, match="--actor"):
        convert(alone, tmp_path)
    events, _ = convert(alone, tmp_path, actor="1001")
    assert {e["actor"] for e in events} == {"1001"}


def test_archive_files_without_events_are_refused_clearly(tmp_path):
    like = tmp_path / "like.js"
    like.write_text('window.YTD.like.part0 = [ { "like" : { "tweetId" : "1" } } ]')
    with pytest.raises(ImportFailed, match="holds nothing Richness imports"):
        convert(like, tmp_path, actor="1001")


def test_tweet_times_in_utc_and_other_offsets():
    from services.importers.formats.x_archive import tweet_time_ms
    from services.importers.mapping import Unmappable

    assert tweet_time_ms("Sat Feb 18 12:33:11 +0000 2023") == 1676723591000
    assert tweet_time_ms("Sat Feb 18 13:33:11 +0100 2023") == 1676723591000
    with pytest.raises(Unmappable, match="not like"):
        tweet_time_ms("2023-02-18T12:33:11Z")
