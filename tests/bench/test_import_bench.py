"""The import benchmark: its sample files are valid in their formats and map without loss, and
the measurement reports its figures (tiny sizes: figures, not speed, are checked)."""
from __future__ import annotations

import pytest

from services.bench.imports import FORMATS, run_imports, write_sample
from services.importers.detect import detect
from services.importers.engine import import_file
from services.importers.sources import ImportOptions


@pytest.mark.parametrize("name", FORMATS)
def test_samples_are_detected_and_every_line_maps(name, tmp_path):
    path = write_sample(name, tmp_path, 500)
    assert detect(path, path.read_bytes()[:4096]) == name
    with open(tmp_path / "out.ndjson", "wb") as out:
        summary = import_file(path, "http://unused", "unused", output=out,
                              options=ImportOptions(state_dir=tmp_path / "state"))
    assert summary.rejected == 0 and not summary.skipped and summary.sent == 500


@pytest.mark.broker
def test_every_format_reports_its_rates():
    figures = run_imports(400, formats=("contract", "x-archive"), report=lambda line: None)
    for name in ("contract", "x-archive"):
        assert figures[name]["events"] == 400 and figures[name]["rejected"] == 0
        assert figures[name]["events_per_s"] > 0 and figures[name]["map_only_events_per_s"] > 0
