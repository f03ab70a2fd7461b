"""The resume state of one import, next to its input: ``<file>.richness-import.json``.

Written atomically after every acknowledged batch: the position in the file up to which every
record's events were acknowledged, and the summary so far. It belongs to one version of the
input (size and modification time) and one way of reading it (format and options): anything
else starts over.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SUFFIX = ".richness-import.json"
VERSION = 2


def checkpoint_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


def fingerprint(path: Path, **reading: Any) -> dict[str, Any]:
    stat = path.stat()
    return {"input_size": stat.st_size, "input_mtime_ns": stat.st_mtime_ns, **reading}


def load(path: Path, expected: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(position, saved summary) to resume from, or (None, None) to start from the top."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None, None
    # Another version, input or way of reading: start over (re-sending is harmless, ids dedupe).
    if not isinstance(saved, dict) or saved.get("version") != VERSION \
            or any(saved.get(key) != value for key, value in expected.items()):
        return None, None
    return saved["position"], saved["summary"]


def save(path: Path, expected: dict[str, Any], position: dict[str, Any], summary: dict[str, Any]) -> None:
    state = {"version": VERSION, **expected, "position": position, "summary": summary}
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(state))
    os.replace(partial, path)  # atomic: a crash leaves the old checkpoint or the new one
