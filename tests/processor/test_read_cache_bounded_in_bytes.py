"""The processor's read cache in front of RocksDB is bounded in bytes, not entries: a busy pair's
entries (its timeline, its day's interaction times) can be a hundred times an ordinary one's, so
a count of entries does not bound memory. However large the values, the cache keeps to its budget."""
from __future__ import annotations

from services.processor.faust_adapter import ABSENT, ReadCache


def test_large_values_do_not_outgrow_the_budget() -> None:
    cache = ReadCache(max_bytes=100_000)
    for i in range(1_000):
        cache.add(i % 3, b"key-%d" % i, b"x" * 5_000)
        assert cache.size <= cache.max_bytes
    assert len(cache) <= 100_000 // 5_000


def test_absent_keys_and_writes() -> None:
    cache = ReadCache(max_bytes=10_000)
    assert cache.get(0, b"k") is ABSENT
    cache.add(0, b"k", None)  # a key with no value is worth remembering too
    assert cache.get(0, b"k") is None
    cache.replace(0, b"k", b"v")
    assert cache.get(0, b"k") == b"v"
    cache.replace(1, b"k", b"w")  # not cached in partition 1: a write alone does not fill the cache
    assert cache.get(1, b"k") is ABSENT
