"""What a failing end-to-end test shows: the end of each component's log, so that a hang seen
only once in CI explains itself without the run's temporary files."""
from __future__ import annotations

from collections import deque
from pathlib import Path


def log_tails(log_dir: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of every ``*.log`` in ``log_dir`` (DEBUG lines left out)."""
    parts = []
    for log in sorted(Path(log_dir).glob("*.log")):
        with log.open(errors="replace") as text:
            tail = deque((line.rstrip() for line in text if "[DEBUG]" not in line), maxlen=lines)
        parts.append(f"--- {log.name} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "\n".join(parts) or f"(no logs in {log_dir})"
