"""The processor's stall watchdog (services/processor/watchdog.py): a group with records waiting
that commits nothing for the timeout is stalled; progress, an empty backlog, an unmeasured or a
settling moment start the clock again."""
from __future__ import annotations

from services.processor.watchdog import BatchActivity, StallWatch

AT_10 = {"p0": 10, "p1": 4}


def test_records_waiting_and_no_commit_for_the_timeout_is_a_stall():
    watch = StallWatch(60)
    assert not watch.is_stalled(0, AT_10, waiting=5)
    assert not watch.is_stalled(59.9, AT_10, waiting=5)
    assert watch.is_stalled(60, AT_10, waiting=5)


def test_any_commit_of_the_group_restarts_the_clock():
    watch = StallWatch(60)
    watch.is_stalled(0, AT_10, waiting=5)
    assert not watch.is_stalled(50, {"p0": 10, "p1": 5}, waiting=500)  # another worker moved p1
    assert not watch.is_stalled(100, {"p0": 10, "p1": 5}, waiting=500)
    assert watch.is_stalled(110, {"p0": 10, "p1": 5}, waiting=500)


def test_a_caught_up_group_is_never_stalled_however_long_it_is_idle():
    watch = StallWatch(60)
    for now in range(0, 1000, 5):
        assert not watch.is_stalled(now, AT_10, waiting=0)
    assert not watch.is_stalled(1005, AT_10, waiting=3)  # new records: the clock starts now
    assert watch.is_stalled(1065, AT_10, waiting=3)


def test_reset_forgets_the_clock_after_an_unmeasured_or_settling_moment():
    watch = StallWatch(60)
    watch.is_stalled(0, AT_10, waiting=5)
    watch.reset()  # e.g. a rebalance, or state recovery reading a long changelog
    assert not watch.is_stalled(300, AT_10, waiting=5)
    assert watch.stalled_for(330, AT_10, waiting=5) == 30


def test_a_zero_timeout_never_stalls():
    watch = StallWatch(0)
    assert not any(watch.is_stalled(now, AT_10, waiting=5) for now in range(0, 10_000, 100))


def test_the_watch_keeps_its_own_copy_of_the_offsets():
    watch = StallWatch(60)
    committed = dict(AT_10)
    watch.is_stalled(0, committed, waiting=5)
    committed["p0"] = 11  # the caller's dict changed in place: that is progress, not the same offsets
    assert not watch.is_stalled(70, committed, waiting=5)


def test_a_worker_in_a_batch_or_that_started_one_since_last_asked_is_busy():
    activity = BatchActivity()
    assert not activity.busy_since_last_asked()
    activity.started()
    assert activity.busy_since_last_asked()
    assert activity.busy_since_last_asked()  # still in it (a long batch holds the event loop)
    activity.finished()
    assert activity.busy_since_last_asked() is False  # its start was already seen
    activity.started()
    activity.finished()  # a whole batch between two questions
    assert activity.busy_since_last_asked()
    assert not activity.busy_since_last_asked()
