"""Formats told from their first object when unambiguous; the contract stays the default."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.importers.detect import Ambiguous, detect
from tests.importers.helpers import FIXTURES


@pytest.mark.parametrize("path, expected", [
    ("reddit/comments_page.json", "reddit"), ("reddit/pushshift.ndjson", "reddit"), ("reddit/listing.json", "reddit"),
    ("hackernews/items.json", "hackernews"), ("hackernews/later.ndjson", "hackernews"),
    ("bluesky/jetstream.ndjson", "bluesky"), ("mastodon/context.json", "mastodon"),
    ("mastodon/statuses.json", "mastodon"), ("mastodon/following_accounts.csv", "mastodon"),
    ("x-archive/data/tweets.js", "x-archive"), ("x-archive/data/follower.js", "x-archive"),
])
def test_fixtures_are_detected(path, expected):
    file = FIXTURES / path
    assert detect(file, file.read_bytes()) == expected


def test_contract_and_unknown_files_stay_contract():
    assert detect(Path("e.ndjson"), b'{"id":"e1","type":"post","ts":1,"actor":"a","post_id":"p"}\n') == "contract"
    assert detect(Path("e.csv"), b"id,type,ts\n") == "contract"
    assert detect(Path("e.ndjson"), b'{"something": "else"}\n') == "contract"
    assert detect(Path("e.ndjson"), b'\xef\xbb\xbf  {"id": "e1", "type": "share"') == "contract"  # cut mid-object


def test_two_signatures_at_once_ask_for_the_format():
    with pytest.raises(Ambiguous, match="--format"):
        detect(Path("odd.json"), b'{"did": "x", "time_us": 1, "kind": "t1"}')
