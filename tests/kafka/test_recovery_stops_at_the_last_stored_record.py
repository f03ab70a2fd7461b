"""The end offset recovery reads to is the end of what can be fetched: the local broker, its S3
store killed in the middle of a produce, kept a watermark past records it never stored (a
changelog partition: records to 50, watermark 96, fetches from 51 empty also after restarts), and
Faust's table recovery waited for them forever (tests/stack/test_fault_matrix.py[log-store])."""
from __future__ import annotations

import asyncio

import pytest

from shared.kafka.compat import readable_end


def _broker(stored: set[int]):
    """``first_offset_from`` of a partition holding records at ``stored`` offsets: a fetch from an
    offset inside a gap returns the next stored record (as the local broker's does)."""
    probes: list[int] = []

    async def first_offset_from(offset: int) -> int | None:
        probes.append(offset)
        return min((o for o in stored if o >= offset), default=None)

    return first_offset_from, probes


@pytest.mark.parametrize(("stored", "high", "end"), [
    (set(range(96)), 96, 96),  # nothing missing
    (set(range(51)), 96, 51),  # the seen case: a tail that was never stored
    (set(range(20)) | set(range(40, 51)), 96, 51),  # a gap before the last stored records as well
    (set(range(20)) | set(range(40, 96)), 96, 96),  # a gap, then records up to the watermark
    (set(), 96, 0),  # nothing stored at all
    (set(), 0, 0),  # an empty partition
    ({0}, 1, 1),
])
def test_the_end_is_one_past_the_last_record_that_can_be_fetched(stored, high, end) -> None:
    first_offset_from, _ = _broker(stored)
    assert asyncio.run(readable_end(first_offset_from, high)) == end


def test_the_usual_case_costs_one_fetch() -> None:
    first_offset_from, probes = _broker(set(range(10_000)))
    assert asyncio.run(readable_end(first_offset_from, 10_000)) == 10_000
    assert probes == [9_999]


def test_a_missing_tail_costs_a_binary_search() -> None:
    first_offset_from, probes = _broker(set(range(5_000)))
    assert asyncio.run(readable_end(first_offset_from, 1_000_000)) == 5_000
    assert len(probes) <= 25
