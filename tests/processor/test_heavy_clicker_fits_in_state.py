"""Regression: one account interacting with another ~10^5 times a day (found at 10^7 events of
the bench workload, whose busiest actor is in most events) grew one state entry past
MAX_ENTRY_BYTES, so its changes were refused and the figures went wrong."""
from shared.domain.rows import AccountDayRow, FollowerRow
from tests.domain.builders import click, follow
from services.processor.batch import MAX_ENTRY_BYTES, apply_changes, apply_events

DAY = 86_400_000
CLICKS = 60_000  # the old per-day entry overflowed at ~29,000


def numbered(items, first=0):
    return [(first + i, item) for i, item in enumerate(items)]


def _rows(store: dict, events: list, first: int) -> list:
    """Both stages over ``events`` as one batch each, committed to ``store``."""
    stage1 = apply_events(store.get, 0, numbered(events, first))
    assert stage1.refused == []
    store.update(stage1.writes)
    changes = [c for out in stage1.outputs for c in out.changes]
    stage2 = apply_changes(store.get, 0, numbered(changes, first))
    assert stage2.refused == []
    assert max(len(k) + len(v) for k, v in stage2.writes.items()) <= MAX_ENTRY_BYTES // 4
    store.update(stage2.writes)
    return [r for out in stage2.outputs for r in out.rows]


def test_a_pair_with_tens_of_thousands_of_clicks_a_day_stays_small_and_exact():
    # Clicks every 1.4 s over one day; then a follow arriving late, in the middle of that day.
    clicks = [click(f"c{i}", "ameena", ts=DAY + i * (DAY // CLICKS), actor="sharon") for i in range(CLICKS)]
    store: dict = {}
    rows = _rows(store, clicks, 0)
    [day] = [r for r in rows if isinstance(r, AccountDayRow)]
    assert (day.clicks, day.unique_clickers, day.follower_clicks) == (CLICKS, 1, 0)

    midday = DAY + DAY // 2
    rows = _rows(store, [follow("f", "sharon", "ameena", ts=midday)], CLICKS)
    [day] = [r for r in rows if isinstance(r, AccountDayRow)]
    after = sum(1 for c in clicks if c.ts >= midday)
    assert (day.clicks, day.follower_clicks, day.followers) == (CLICKS, after, 1)
    [ledger] = [r for r in rows if isinstance(r, FollowerRow)]
    assert (ledger.clicks, ledger.last_interaction_at) == (CLICKS, clicks[-1].ts)
