"""Driving the local stack as a user does: the installed `richness` command, its files, its processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import clickhouse_connect
import httpx

from services.stack.processes import processes_marked
from tests.logs import log_tails
from tests.pipeline.harness import VIEW_KEYS, normalise

RICHNESS = str(Path(sys.executable).with_name("richness"))


def richness(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([RICHNESS, *args], capture_output=True, text=True, timeout=180,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        logs = ""
        if "--data-dir" in args and (log_dir := Path(args[args.index("--data-dir") + 1]) / "logs").is_dir():
            logs = "\n" + log_tails(log_dir)
        raise AssertionError(f"richness {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                             f"{logs}")
    return result


def stack_processes(data_dir: Path) -> list[int]:
    """Live (non-zombie) processes that belong to the stack in data_dir: marked as the stack's,
    or naming its directory or one of its ports on their command line."""
    ports = json.loads((data_dir / "ports.json").read_text()) if (data_dir / "ports.json").exists() else {}
    markers = [str(data_dir)] + [f"127.0.0.1:{port}" for port in ports.values()] + [
        f"={port}" for name, port in ports.items() if name.startswith("log_")]
    found = processes_marked(f"RICHNESS_STACK_DIR={data_dir.resolve()}")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(marker in cmdline for marker in markers) and "pytest" not in cmdline:
            found.append(int(proc.name))
    return sorted(set(found))


def component(data_dir: Path, name: str) -> dict:
    """One row of `richness status --json`."""
    rows = json.loads(richness("status", "--data-dir", str(data_dir), "--json", check=False).stdout)
    return next(row for row in rows if row["name"] == name)


def ch(info: dict, sql: str, reader: bool = False) -> httpx.Response:
    auth = ((info["clickhouse_reader_user"], info["clickhouse_reader_password"]) if reader
            else (info["clickhouse_user"], info["clickhouse_password"]))
    return httpx.post(info["clickhouse_url"], content=sql.encode(), auth=auth, timeout=30)


def wait_for(condition, timeout_s: float = 90, what: str = "the condition") -> None:
    """Poll until ``condition()`` holds (a deadline against hangs, not a speed assertion)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not hold within {timeout_s:.0f} s"
        time.sleep(0.2)


def views(info: dict) -> dict[str, list[dict]]:
    client = clickhouse_connect.get_client(dsn=info["clickhouse_url"], username=info["clickhouse_reader_user"],
                                           password=info["clickhouse_reader_password"], database="richness")
    return {view: sorted((normalise(r) for r in client.query(f"SELECT * FROM richness.{view}").named_results()),
                         key=lambda r: tuple(r[k] for k in key))
            for view, key in VIEW_KEYS.items()}
