"""What the stack's supervisor reports about itself and each component (``DIR/supervisor.json``).

Only the supervisor writes the file (atomically, on every change); ``richness up`` follows its
progress there, ``status`` shows it, ``drain`` reads it to fail fast, and ``down`` finds every
process in it, even after the supervisor was killed.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.stack.processes import Running

# The supervisor's phases: starting → up → stopping → stopped, or starting → failed.
STARTING, UP, FAILED, STOPPING, STOPPED = "starting", "up", "failed", "stopping", "stopped"


@dataclass
class ComponentState:
    name: str
    log: str
    stop_timeout_s: float
    pid: int | None = None
    start_time: int | None = None
    # starting (not healthy yet) · running · waiting (to be restarted after a backoff) · stopped
    state: str = "starting"
    restarts: int = 0
    last_exit: str | None = None  # e.g. "killed by SIGKILL", "exit code 70"
    last_exit_at: float | None = None  # Unix time
    # Exited several times in a row without staying up: reported by status, stops drain.
    failing: bool = False

    def process(self) -> Running | None:
        if self.pid is None:
            return None
        return Running(self.name, self.pid, self.start_time, self.log, self.stop_timeout_s)

    def alive(self) -> bool:
        process = self.process()
        return process is not None and process.alive()


@dataclass
class SupervisorState:
    pid: int
    start_time: int | None
    log: str
    phase: str = STARTING
    message: str = ""
    error: str | None = None
    components: list[ComponentState] = field(default_factory=list)
    updated_at: float = 0.0

    def process(self) -> Running:
        return Running("supervisor", self.pid, self.start_time, self.log, 60.0)

    def component(self, name: str) -> ComponentState | None:
        return next((c for c in self.components if c.name == name), None)


def save(path: Path, state: SupervisorState) -> None:
    state.updated_at = time.time()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def load(path: Path) -> SupervisorState | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    components = [ComponentState(**c) for c in data.pop("components", [])]
    return SupervisorState(**data, components=components)
