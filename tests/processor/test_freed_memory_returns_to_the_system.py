"""The processor gives the C heap's free pages back between batches (services/processor/memory.py):
memory a batch freed inside the heap must leave the process's RSS, not wait below a live block."""
import os

import pytest

from services.processor.memory import release_free_memory

MB = 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc")
def test_memory_freed_below_a_live_block_leaves_the_process():
    release_free_memory()
    # 4 KiB blocks come from malloc's heap (below its mmap threshold); the block allocated last
    # stays live above them, so malloc cannot shrink the heap from its top by itself.
    blocks = [bytes(4096) for _ in range(50_000)]  # ~200 MB
    live = bytes(4096)
    del blocks
    before = rss_bytes()
    if not release_free_memory():
        pytest.skip("this C library has no malloc_trim")
    after = rss_bytes()
    assert before - after > 100 * MB, f"RSS went from {before // MB} MB to {after // MB} MB"
    assert live  # kept until here on purpose
