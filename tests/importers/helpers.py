"""Helpers for the importer tests: fixture paths and mapping files to events without a server."""
from __future__ import annotations

import io
from pathlib import Path

import msgspec

from services.importers.engine import ImportSummary, import_file
from services.importers.sources import ImportOptions

FIXTURES = Path(__file__).parent / "fixtures"


def convert(path: Path, state_dir: Path, format: str | None = None, **options) -> tuple[list[dict], ImportSummary]:
    """The events a file maps to (as ``richness import`` would send them) and the summary."""
    out = io.BytesIO()
    summary = import_file(path, "http://unused", "unused", format=format, output=out,
                          options=ImportOptions(state_dir=state_dir, **options))
    return [msgspec.json.decode(line) for line in out.getvalue().splitlines()], summary


def by_id(events: list[dict]) -> dict[str, dict]:
    return {event["id"]: event for event in events}
