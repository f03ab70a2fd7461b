"""Mastodon statuses and following_accounts.csv to contract events: roots by walking
in_reply_to_id through what was imported, reblogs as shares, follows only with --as-of."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.importers.engine import ImportFailed
from services.importers.formats.mastodon import Account, account_address, map_status, statuses
from services.importers.mapping import Unmappable, Unrooted
from tests.importers.helpers import FIXTURES, by_id, convert

ROOT = "mastodon:113500000000000100"


def test_local_accounts_get_their_server_from_the_profile_url():
    assert account_address(Account("ameena", "https://social.example/@ameena")) == "ameena@social.example"
    assert account_address(Account("robert@other.example")) == "robert@other.example"
    with pytest.raises(Unmappable, match="server is unknown"):
        account_address(Account("ameena"))


def test_reblog_is_a_share_and_the_reblogged_status_is_imported_too():
    [wrapper, _] = statuses((FIXTURES / "mastodon/statuses.json").read_bytes())
    events = map_status(wrapper, lambda post: Unrooted(None)).events
    assert events == [
        {"id": "mastodon:113500000000000106", "type": "share", "ts": 1795167600000, "actor": "robert@other.example",
         "target": "ameena@social.example", "post_id": ROOT},
        {"id": "mastodon:113500000000000100", "type": "post", "ts": 1795165200000, "actor": "ameena@social.example",
         "post_id": ROOT}]


def test_context_then_the_missing_focal_status_completes_the_thread(tmp_path):
    context = FIXTURES / "mastodon/context.json"
    events, summary = convert(context, tmp_path)
    assert summary.format == "mastodon" and set(by_id(events)) == {ROOT}  # /context leaves out the status itself
    assert summary.skipped["root_unknown"].count == 3

    events, _ = convert(FIXTURES / "mastodon/statuses.json", tmp_path)  # holds it
    assert by_id(events)["mastodon:113500000000000101"]["root_id"] == ROOT
    events, summary = convert(context, tmp_path)
    third = by_id(events)["mastodon:113500000000000103"]
    assert (third["parent_id"], third["root_id"], third["actor"]) == (
        "mastodon:113500000000000102", ROOT, "robert@other.example")
    assert summary.skipped["root_unknown"].examples == [
        "1: mastodon:113500000000000104: no post mastodon:113400000000000099"]


def test_following_csv_needs_the_exporting_account_and_a_time(tmp_path):
    csv = FIXTURES / "mastodon/following_accounts.csv"
    with pytest.raises(ImportFailed, match="--actor"):
        convert(csv, tmp_path, as_of=datetime(2026, 11, 21, tzinfo=timezone.utc))
    with pytest.raises(ImportFailed, match="--as-of"):
        convert(csv, tmp_path, actor="ameena@social.example")
    events, summary = convert(csv, tmp_path, actor="ameena@social.example",
                              as_of=datetime(2026, 11, 21, tzinfo=timezone.utc))
    assert [(e["type"], e["actor"], e["target"], e["ts"]) for e in events] == [
        ("follow", "ameena@social.example", "robert@other.example", 1795219200000),
        ("follow", "ameena@social.example", "sharon@gone.example", 1795219200000)]
    assert "not the real follow times" in summary.warnings[0]
