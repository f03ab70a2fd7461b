"""Each partition's input applied in offset order with nothing left out.

Faust can drop records it has already fetched: a record whose delivery to the stream is waiting
when the consumer suspends its flow (during a rebalance or a recovery) is abandoned, and the
consumer's read offset moves past it. Seen in the fault matrix: an accounts worker restarted
after a kill took records 0 and 4 of each partition and never 1–3; the account rules then
removed contributions never added (a ValueError on every later start) and the views would have
lost those changes. Faust never acknowledges a dropped record, so its committed offset stays
before it: the worker only has to notice, and exit before anything after it is acknowledged —
after the restart the records are read again.

So each partition's state holds the offset of the next input record it expects, written with
the batch's other entries (one changelog unit, restored with them). A record before it is a
replay, which the rules absorb (they are idempotent per input). A record past it leaves a gap,
which is a loss unless the log has no record there: deleted by retention, or offsets the local
broker gave to a produce that failed before its records were stored (docs/design.md, Tansu).
"""
from __future__ import annotations

NEXT_OFFSET_KEY = b"\x00richness-next-offset"  # state keys are msgpack arrays: no clash


class InputGap(Exception):
    def __init__(self, partition: int, expected: int, got: int) -> None:
        super().__init__(f"partition {partition}: the next input record should be offset {expected}, "
                         f"but offset {got} came although the log holds records before it: they were "
                         f"skipped on the way here; exiting so that they are read again")
        self.partition, self.expected, self.got = partition, expected, got


def encode_offset(offset: int) -> bytes:
    return offset.to_bytes(8, "big")


def decode_offset(value: bytes | None) -> int | None:
    return None if value is None else int.from_bytes(value, "big")


def gaps(expected: int | None, offsets: list[int]) -> tuple[int, list[tuple[int, int]]]:
    """Follow one partition's record offsets of a batch (in order) from the offset expected
    before them (None: nothing applied yet, anything may come first). Returns the offset
    expected after them and each gap as (first missing offset, offset that came instead)."""
    found = []
    for offset in offsets:
        if expected is not None and offset > expected:
            found.append((expected, offset))
        expected = offset + 1 if expected is None else max(expected, offset + 1)
    if expected is None:
        raise ValueError("no offsets and nothing expected")
    return expected, found
