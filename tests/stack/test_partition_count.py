"""One partition count: `richness up` creates the topics with RICHNESS_PARTITIONS (default in
shared/config.py) and refuses clearly when the durable log's existing topics disagree."""
from __future__ import annotations

import json

import pytest

from shared.config import Settings
from tests.stack.helpers import richness, stack_processes

pytestmark = pytest.mark.stack


def test_up_refuses_a_partition_count_that_disagrees_with_the_topics(tmp_path):
    data_dir = tmp_path / "stack"
    default = Settings.model_fields["partitions"].default
    other = default + 1
    try:
        richness("up", "--data-dir", str(data_dir), env={"RICHNESS_PARTITIONS": str(other)})
        assert json.loads((data_dir / "stack.json").read_text())["partitions"] == other
        richness("down", "--data-dir", str(data_dir))

        refused = richness("up", "--data-dir", str(data_dir), check=False)  # the default again
        assert refused.returncode == 1
        assert (f"topic richness.events has {other} partitions but the configuration says {default} "
                "(RICHNESS_PARTITIONS)") in refused.stderr
        assert "set RICHNESS_PARTITIONS" in refused.stderr
        assert stack_processes(data_dir) == [] and not (data_dir / "stack.json").exists()

        richness("up", "--data-dir", str(data_dir), env={"RICHNESS_PARTITIONS": str(other)})  # agrees: fine
    finally:
        richness("down", "--data-dir", str(data_dir), check=False)
