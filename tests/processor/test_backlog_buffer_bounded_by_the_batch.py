"""However deep the backlog, a worker holds one batch in work and at most two batches' worth of
records taken ahead of it: Faust's stream buffer is sized in batches of the worker's own stage, so
the memory it holds is bounded by the batch, not by the backlog nor by a fixed count of records
(200 records of up to 512 KiB each were 100 MiB at worst)."""
from __future__ import annotations

import pytest

from services.processor.app import STAGES, create_app
from shared.config import Settings
from shared.topics import MAX_RECORD_BYTES


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_records_taken_ahead_are_two_batches(stage, tmp_path):
    spec = STAGES[stage]
    app = create_app(Settings(state_dir=tmp_path, kafka_bootstrap="127.0.0.1:1"), stage)
    assert app.conf.stream_buffer_maxsize == 2 * spec.batch_records
    assert app.conf.stream_buffer_maxsize * MAX_RECORD_BYTES <= 40 * 1024 * 1024


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_batch_is_whole_records_of_at_most_20000_inputs(stage):
    spec = STAGES[stage]
    assert spec.batch_records >= 1
    assert spec.batch_records * spec.per_record == spec.batch_inputs <= 20_000
