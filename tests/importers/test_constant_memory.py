"""Streaming: the memory an import needs does not grow with the file (JSON documents included);
it is bounded by the batches (two in memory: one being filled, one in flight)."""
from __future__ import annotations

import os
import tracemalloc

import pytest

from services.bench.imports import write_sample
from services.importers.engine import import_file
from services.importers.sources import ImportOptions


def peak_bytes(name: str, lines: int, folder) -> tuple[int, int]:
    folder.mkdir()
    path = write_sample(name, folder, lines)
    tracemalloc.start()
    try:
        with open(os.devnull, "wb") as out:
            summary = import_file(path, "http://unused", "unused", output=out, batch_size=500,
                                  options=ImportOptions(state_dir=folder / "state"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.sent == lines
    return peak, path.stat().st_size


@pytest.mark.parametrize("name", ["x-archive", "bluesky"])
def test_peak_memory_stays_flat_as_the_file_grows(name, tmp_path):
    small, _ = peak_bytes(name, 2_000, tmp_path / "small")  # several batches already
    large, size = peak_bytes(name, 20_000, tmp_path / "large")
    assert large < 2 * small + 1_000_000, (small, large)  # 10× the lines, about the same peak
    assert large < size / 4, (large, size)
