"""Regression: RFC 3339 times with milliseconds were converted through float seconds and came
out 1 ms low for some values (e.g. 2004-03-31T03:59:35.929Z became ...928)."""
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from shared.events import parse_event


def test_known_case():
    event = parse_event(b'{"id":"a","type":"post","ts":"2004-03-31T03:59:35.929Z","actor":"x","post_id":"p"}')
    assert event.ts == 1080705575929


@given(st.integers(min_value=946_684_800_000, max_value=1_790_000_000_000))
def test_rfc3339_and_epoch_ms_agree(ms):
    text = datetime.fromtimestamp(ms // 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"
    raw = f'{{"id":"a","type":"post","ts":"{text}","actor":"x","post_id":"p"}}'
    assert parse_event(raw.encode()).ts == ms
