"""Both stages of rules, run as the processor runs them — partitioned, cut into random batches,
with crashes that replay a batch after its outputs went out — keep rows whose views equal the
reference's on random worlds (shuffled, duplicated, late, tied, cyclic)."""
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import accounts
from shared.events import parse_event
from tests.domain.simulation import Run, views
from tests.pipeline.generator import event_set
from tests.pipeline.harness import encode_events
from tests.reference import compute_views

VIEWS = ("threads", "account_daily", "followers")


def run(events, seed: int, partitions: int, crash_rate: float) -> Run:
    pipeline = Run(partitions=partitions, crash_rate=crash_rate, rng=random.Random(seed))
    pipeline.send(events)
    pipeline.run()
    return pipeline


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), partitions=st.integers(1, 4), crash_rate=st.sampled_from([0.0, 0.3]))
def test_views_equal_the_reference(seed, partitions, crash_rate):
    events = [parse_event(encode_events(e)) for e in event_set(seed, days=6)]
    got = views(run(events, seed, partitions, crash_rate).rows)
    expected = compute_views(events)
    for name in VIEWS:
        assert got[name] == expected[name], name


def test_replays_really_happen_in_the_crash_runs():
    events = [parse_event(encode_events(e)) for e in event_set(5)]
    assert run(events, 5, 3, 0.3).crashes > 5


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), crash_rate=st.sampled_from([0.0, 0.3]))
def test_views_equal_the_reference_when_every_pair_keeps_its_times_in_buckets(seed, crash_rate):
    # Busy pairs move a day's interaction times to bucket entries; here every pair does at once.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "SPILL_AT", 0)
        patch.setattr(accounts, "BUCKET_MS", 6 * 3_600_000)  # many interactions share a bucket
        events = [parse_event(encode_events(e)) for e in event_set(seed, days=6)]
        got = views(run(events, seed, 2, crash_rate).rows)
    expected = compute_views(events)
    for name in VIEWS:
        assert got[name] == expected[name], name
