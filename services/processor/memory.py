"""Giving the C heap's free memory back to the operating system between batches.

Measured (BENCHMARKS.md): a fifth to a quarter of the processor's RSS was memory it had freed
and glibc's allocator kept — RocksDB's and Python's large allocations come and go with every
batch, and glibc returns freed memory to the system only from the top of its heaps.
``malloc_trim`` hands back every free page inside them. Where the C library has no
``malloc_trim`` (not glibc), this does nothing.
"""
from __future__ import annotations

import ctypes
from typing import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the process runs on
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system; False where the C library cannot."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
