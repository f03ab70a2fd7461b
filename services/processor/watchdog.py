"""Deciding when a processor stage is stuck, so that the worker can exit and be restarted.

A consumer group can stop making progress without any error: a member that was killed may keep
its partitions on a broker that never reassigns them, or a fetcher may stop after the broker came
back. Nothing then fails, records wait forever, and every figure behind them freezes. A restart
is always safe (state and offsets are committed together per batch; outputs are idempotent), so
the worker exits when its group has records waiting and has committed nothing for a while, and
lets its supervisor (``richness up``, compose's restart policy, an orchestrator) start it again.

"Progress" is the group's committed offsets, not this worker's batches: with several workers, one
whose partitions are all caught up must not exit while another still works through a backlog.
While the worker rebalances or recovers its tables nothing is committed by design (a recovery
may read a long changelog), and while it works on a batch (which can hold the event loop for a
long time: the rules are plain Python) its commits are still to come; so the clock only runs
when the worker is none of those. Not caught: a recovery that hangs by itself. Not told apart:
another worker's batch longer than the timeout (pathological; batches take seconds) makes an
idle worker of the group restart, which costs a rebalance and at worst a replayed batch.
"""
from __future__ import annotations

import threading
from typing import Callable, Hashable, Mapping

STALLED_EXIT_CODE = 75  # EX_TEMPFAIL: the supervisor restarts it (any other code is a crash)


class StallWatch:
    """Fed the group's committed offsets and lag at each measurement; says when to give up."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._committed: Mapping[Hashable, int] | None = None
        self._since: float | None = None

    def reset(self) -> None:
        """Forget the last measurement (it could not be taken, or the worker was rebalancing or
        recovering its state, which may take minutes and commits nothing)."""
        self._committed = None
        self._since = None

    def stalled_for(self, now: float, committed: Mapping[Hashable, int], waiting: int) -> float:
        """Seconds the group has had ``waiting`` records and committed nothing (0 when it moves)."""
        if waiting == 0 or self._since is None or committed != self._committed:
            self._committed = dict(committed)
            self._since = now
            return 0.0
        return now - self._since

    def is_stalled(self, now: float, committed: Mapping[Hashable, int], waiting: int) -> bool:
        return self.timeout_s > 0 and self.stalled_for(now, committed, waiting) >= self.timeout_s


class BatchActivity:
    """Whether a worker is working: in a batch, or one started since it was last asked."""

    def __init__(self) -> None:
        self._started = 0
        self._seen = 0
        self._running = 0

    def started(self) -> None:
        self._started += 1
        self._running += 1

    def finished(self) -> None:
        self._running -= 1

    def busy_since_last_asked(self) -> bool:
        busy = self._running > 0 or self._started != self._seen
        self._seen = self._started
        return busy


class StopDeadline:
    """Calls ``give_up`` (from a thread of its own) unless the ``with`` body ends within
    ``seconds``: for a stop that can wait forever, such as Faust's wait for its consumer to commit
    after the consumer's thread crashed, which leaves a worker alive, idle and never restarted."""

    def __init__(self, seconds: float, give_up: Callable[[], None]) -> None:
        self.seconds = seconds
        self.give_up = give_up
        self._timer: threading.Timer | None = None

    def __enter__(self) -> StopDeadline:
        self._timer = threading.Timer(self.seconds, self.give_up)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
