"""The processor gives the C heap's free pages back between batches (services/processor/memory.py):
memory a batch freed between live blocks must leave the process's RSS, not wait there."""
import os

import pytest

from services.processor.memory import release_free_memory

MB = 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc")
def test_memory_freed_between_live_blocks_leaves_the_process():
    release_free_memory()
    # 4 KiB blocks come from malloc's heap (below its mmap threshold). One in 64 stays live, so
    # what is freed lies between live blocks, where malloc cannot shrink the heap by itself.
    blocks = [bytes(4096) for _ in range(50_000)]  # ~200 MB
    live = blocks[::64]
    del blocks
    before = rss_bytes()
    if not release_free_memory():
        pytest.skip("this C library has no malloc_trim")
    after = rss_bytes()
    assert before - after > 100 * MB, f"RSS went from {before // MB} MB to {after // MB} MB"
    assert len(live) == 782  # kept until here on purpose
