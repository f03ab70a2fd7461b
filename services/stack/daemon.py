"""The local stack's supervisor: ``python -m services.stack.daemon --data-dir DIR``.

One detached process per stack, started by ``richness up`` (which follows its progress in
``DIR/supervisor.json`` and returns once every component is healthy). It starts the components
in dependency order, each healthy before the next, then watches them:

- a component that exits is restarted after a backoff (1 s, doubling up to 30 s, back to 1 s
  once it stayed up 30 s); every exit and restart is written to ``DIR/logs/supervisor.log`` and
  to ``supervisor.json`` (restarts, last exit reason), which ``richness status`` shows;
- a component that exited 3 times in a row without staying up 30 s is marked *failing*: it is
  still restarted (its cause may go away), but ``status`` reports it and ``drain`` stops
  waiting and names it;
- on SIGTERM (``richness down``) it stops the components in reverse order and exits.

Every process it starts carries ``RICHNESS_STACK_DIR=DIR`` in its environment, so ``down`` finds
them all even if this supervisor was killed with SIGKILL.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from services.stack import state as states
from services.stack.processes import (Running, Spec, StackError, describe_exit, exit_status, log_tail,
                                      process_start_time, spawn, stop)
from services.stack.state import ComponentState, SupervisorState
from services.stack.supervisor import MARKER, LocalStack, Step

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 30.0  # up this long: the next exit starts the backoff again from 1 s
FAILING_AFTER = 3  # exits in a row without staying up
TICK_S = 0.5


class Stopping(Exception):
    """SIGTERM arrived while starting."""


class Child:
    """One component: its spec, its current process, and its restart bookkeeping."""

    def __init__(self, spec: Spec, log_dir: Path):
        self.spec = spec
        self.state = ComponentState(spec.name, str(log_dir / f"{spec.name}.log"), spec.stop_timeout_s)
        self.running: Running | None = None
        self.started_at = 0.0  # monotonic
        self.exits_in_a_row = 0
        self.restart_at = 0.0

    def healthy(self) -> bool:
        try:
            return bool(self.spec.healthy())
        except Exception:  # noqa: BLE001 - not ready (yet)
            return False


class Supervisor:
    def __init__(self, data_dir: Path):
        self.stack = LocalStack(data_dir)
        self.plan = self.stack.load_plan()
        self.marker = {MARKER: str(self.stack.dir)}
        self.stopping = False
        pid = os.getpid()
        self.state = SupervisorState(pid, process_start_time(pid), str(self.stack.logs / "supervisor.log"))
        self.children: list[Child] = []

    # --- life cycle -------------------------------------------------------------------------
    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            self._start_all()
        except Stopping:
            self._stop_all()
            self._set_phase(states.STOPPED, "stopped before start-up finished")
            return 0
        except Exception as exc:  # noqa: BLE001 - reported to `richness up`, which prints it
            error = str(exc) if isinstance(exc, StackError) else f"{type(exc).__name__}: {exc}"
            self.log(f"start-up failed: {error}")
            self._stop_all()
            self.state.error = error
            self._set_phase(states.FAILED, "start-up failed")
            return 1
        self._set_phase(states.UP, "every component is healthy")
        while not self.stopping:
            try:
                self._watch()
            except Exception:  # noqa: BLE001 - a supervisor that dies supervises nothing: log, go on
                self.log("watching failed:\n" + traceback.format_exc())
            time.sleep(TICK_S)
        self._set_phase(states.STOPPING, "stopping")
        self._stop_all()
        self._set_phase(states.STOPPED, "stopped")
        return 0

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.log(f"received {signal.Signals(signum).name}: stopping the stack")
        self.stopping = True

    # --- start-up ---------------------------------------------------------------------------
    def _start_all(self) -> None:
        for item in self.stack.specs(self.plan):
            if self.stopping:
                raise Stopping
            if isinstance(item, Step):
                self._progress(item.description)
                item.run(self._progress)
                continue
            child = Child(item, self.stack.logs)
            self.children.append(child)
            self._progress(f"starting {item.name}")
            self._spawn(child)
            self._wait_healthy(child)
            child.state.state = "running"
            self._progress(f"{item.name} is healthy")

    def _wait_healthy(self, child: Child) -> None:
        deadline = time.monotonic() + child.spec.start_timeout_s
        while time.monotonic() < deadline:
            if self.stopping:
                raise Stopping
            status = exit_status(child.running.pid)
            if status is not None:
                child.state.state, child.state.pid = "stopped", None
                raise StackError(f"{child.spec.name} exited during start-up ({describe_exit(status)}); "
                                 f"last log lines:\n{log_tail(child.state.log)}")
            if child.healthy():
                return
            time.sleep(0.2)
        raise StackError(f"{child.spec.name} was not healthy after {child.spec.start_timeout_s:.0f} s; "
                         f"last log lines:\n{log_tail(child.state.log)}")

    # --- watching ---------------------------------------------------------------------------
    def _watch(self) -> None:
        for child in self.children:
            now = time.monotonic()
            state = child.state
            if child.running is not None:
                status = exit_status(child.running.pid)
                if status is not None:
                    self._exited(child, describe_exit(status))
                elif state.state == "starting":
                    if child.healthy():
                        state.state = "running"
                        self.log(f"{state.name} is healthy again")
                        self._save()
                    elif now - child.started_at > child.spec.start_timeout_s:
                        stop(child.running)
                        exit_status(child.running.pid)
                        self._exited(child, f"not healthy {child.spec.start_timeout_s:.0f} s after its start")
                elif child.exits_in_a_row and now - child.started_at >= STABLE_AFTER_S:
                    child.exits_in_a_row = 0
                    if state.failing:
                        self.log(f"{state.name} has stayed up {STABLE_AFTER_S:.0f} s: no longer failing")
                    state.failing = False
                    self._save()
            elif state.state == "waiting" and now >= child.restart_at:
                state.restarts += 1
                self.log(f"restarting {state.name} (restart {state.restarts})")
                self._spawn(child)

    def _exited(self, child: Child, reason: str) -> None:
        child.spec.after_stop()
        state = child.state
        uptime = time.monotonic() - child.started_at
        child.running = None
        child.exits_in_a_row += 1
        backoff = min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** (child.exits_in_a_row - 1))
        child.restart_at = time.monotonic() + backoff
        state.pid = state.start_time = None
        state.state = "waiting"
        state.last_exit, state.last_exit_at = reason, time.time()
        state.failing = child.exits_in_a_row >= FAILING_AFTER
        self.log(f"{state.name} {reason} after {uptime:.1f} s; restarting in {backoff:.0f} s"
                 + (f" (FAILING: {child.exits_in_a_row} exits in a row)" if state.failing else ""))
        self._save()

    def _spawn(self, child: Child) -> None:
        child.running = spawn(child.spec, self.stack.logs, extra_env=self.marker)
        child.started_at = time.monotonic()
        state = child.state
        state.pid, state.start_time, state.state = child.running.pid, child.running.start_time, "starting"
        self._save()

    def _stop_all(self) -> None:
        for child in reversed(self.children):
            if child.running is not None:
                self._progress(f"stopping {child.spec.name}")
                stop(child.running)
                exit_status(child.running.pid)
                child.running = None
                child.spec.after_stop()
            child.state.state, child.state.pid, child.state.start_time = "stopped", None, None
            self._save()

    # --- reporting --------------------------------------------------------------------------
    def _progress(self, message: str) -> None:
        self.state.message = message
        self.log(message)
        self._save()

    def _set_phase(self, phase: str, message: str) -> None:
        self.state.phase = phase
        self._progress(message)

    def _save(self) -> None:
        self.state.components = [child.state for child in self.children]
        states.save(self.stack.supervisor_json, self.state)

    @staticmethod
    def log(message: str) -> None:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Supervise the local stack in DIR (started by `richness up`).")
    parser.add_argument("--data-dir", type=Path, required=True)
    sys.exit(Supervisor(parser.parse_args().data_dir).run())


if __name__ == "__main__":
    main()
