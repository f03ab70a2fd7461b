"""Regression: a restarted accounts worker was handed records 0 and 4 of each partition and never
1-3 (Faust abandons a fetched record whose delivery is waiting when it suspends its flow, and
moves its read offset past it). The rules then took back contributions never added and the
worker failed on every start (fault matrix [accounts]). Each partition's state now holds the
next offset it expects; a batch past it stops the worker before anything is applied, sent or
acknowledged — unless the log holds no record in between (retention, a failed produce)."""
import asyncio
from types import SimpleNamespace

import pytest

from services.processor.app import Stage
from services.processor.sequence import NEXT_OFFSET_KEY, InputGap, decode_offset, encode_offset, gaps


def test_gaps_follow_offsets_and_let_replays_pass():
    assert gaps(None, [7, 8, 9]) == (10, [])  # nothing applied yet: any start
    assert gaps(5, [3, 4, 5, 6]) == (7, [])  # a replay from the committed offset
    assert gaps(1, [4, 5]) == (6, [(1, 4)])
    assert gaps(1, [1, 3, 4, 9]) == (10, [(2, 3), (5, 9)])
    assert decode_offset(encode_offset(2**40 + 3)) == 2**40 + 3 and decode_offset(None) is None


class Store:
    def __init__(self, next_offset):
        self.entries = {NEXT_OFFSET_KEY: encode_offset(next_offset)}

    def read(self, partition, key):
        return self.entries.get(key)


def records(*offsets):
    return [SimpleNamespace(message=SimpleNamespace(offset=o)) for o in offsets]


def stage(log):
    """A stage whose input log holds a record at each offset of ``log``."""
    async def first_stored(partition, offset):
        return min((o for o in log if o >= offset), default=None)
    return Stage("accounts", None, None, None, None, None, first_stored)


def test_records_the_log_holds_but_never_came_stop_the_batch():
    with pytest.raises(InputGap, match="should be offset 1, but offset 4 came"):
        asyncio.run(stage(range(10))._next_offset(Store(1), 0, records(4, 5)))


def test_offsets_the_log_holds_no_record_at_are_passed_over():
    log = [0, 1, 2, 3, 7, 8]  # 4..6: a produce that failed, or deleted by retention
    assert asyncio.run(stage(log)._next_offset(Store(4), 0, records(7, 8))) == 9
    assert asyncio.run(stage(log)._next_offset(Store(2), 0, records(2, 3, 7))) == 8
    with pytest.raises(InputGap):  # 3 is there: only the hole may be passed over
        asyncio.run(stage(log)._next_offset(Store(3), 0, records(7)))
