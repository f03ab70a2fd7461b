"""A real ingest server on the session broker for the import tests (as in tests/ingest)."""
from __future__ import annotations

from typing import Iterator

import pytest

from shared.config import Settings
from tests.ingest.helpers import Ingest, ingest_settings, running_ingest


@pytest.fixture
def ingest(kafka_settings: Settings) -> Iterator[Ingest]:
    with running_ingest(ingest_settings(kafka_settings)) as running:
        yield running
