"""``richness up`` / ``down`` / ``status``: a small supervisor for the embedded local stack.

Layout of the data directory (default ``./.richness``)::

    stack.json      what clients need: ingest_url, api_key, clickhouse_url (+ more), while up
    run.json        the processes this stack started (pid + kernel start time), for ``down``
    secrets.json    generated API key and ClickHouse passwords, kept across down/up (0600)
    keys.json       the ingest API's named keys, hashed (``richness keys``; the stack's is "local")
    ports.json      the ports last used, reused when still free so URLs stay stable
    clickhouse/     the ClickHouse server's config and data (survives down/up and kill -9)
    logs/           one log file per component

Components start in dependency order, each checked healthy before the next; if one fails, the
ones already started are stopped again and the error names the component with its last log lines.
A Kafka or ClickHouse given by environment (``RICHNESS_KAFKA_BOOTSTRAP``, ``RICHNESS_CLICKHOUSE_URL``)
is used instead of starting the embedded one.
"""
from __future__ import annotations

import fcntl
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.stack import components
from services.stack.restore import restore_event_log
from shared.api_keys import LOCAL_FILE_NAME, KeysFile
from shared.clickhouse.client import connect
from shared.clickhouse.schema import migrate
from shared.config import Settings
from services.stack.processes import (Running, Spec, StackError, free_port, port_is_free, spawn,
                                      stop, wait_healthy)

DEFAULT_DATA_DIR = Path(".richness")
ADMIN_USER = "richness"
READER_USER = "richness_reader"


class StackSettings(BaseSettings):
    """Ports of the local stack (0 = reuse the last ones if free, else pick free ones)."""

    model_config = SettingsConfigDict(env_prefix="RICHNESS_STACK_", extra="ignore")
    broker_port: int = Field(default=0, ge=0, le=65535)
    clickhouse_http_port: int = Field(default=0, ge=0, le=65535)
    clickhouse_tcp_port: int = Field(default=0, ge=0, le=65535)
    ingest_port: int = Field(default=0, ge=0, le=65535)
    processor_metrics_port: int = Field(default=0, ge=0, le=65535)
    sink_metrics_port: int = Field(default=0, ge=0, le=65535)
    partitions: int = Field(default=2, ge=1, le=64)


@dataclass
class Step:
    """A one-off step between components (e.g. the schema, once ClickHouse is up)."""

    description: str
    run: Callable[[Callable[[str], None]], object]  # gets the progress reporter


@dataclass
class ComponentStatus:
    name: str
    pid: int | None
    alive: bool
    log: str | None


@dataclass
class StackInfo:
    ingest_url: str
    api_key: str
    clickhouse_url: str
    kafka_bootstrap: str
    clickhouse_user: str
    clickhouse_password: str
    clickhouse_reader_user: str
    clickhouse_reader_password: str
    data_dir: str
    kafka_compat: str = "tansu"
    partitions: int = 2
    logs: dict[str, str] = field(default_factory=dict)


class LocalStack:
    def __init__(self, data_dir: Path = DEFAULT_DATA_DIR, settings: StackSettings | None = None):
        self.dir = Path(data_dir).resolve()
        self.settings = settings or StackSettings()
        self.logs = self.dir / "logs"
        self.stack_json = self.dir / "stack.json"
        self.run_json = self.dir / "run.json"
        self.keys_file = self.dir / LOCAL_FILE_NAME
        # A Kafka or ClickHouse given by environment is used instead of the embedded one.
        self.external_kafka = "RICHNESS_KAFKA_BOOTSTRAP" in os.environ
        self.external_clickhouse = "RICHNESS_CLICKHOUSE_URL" in os.environ

    # --- public operations ----------------------------------------------------------------
    def up(self, report: Callable[[str], None] = lambda _: None) -> StackInfo:
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            running = self._running()
            if any(r.alive() for r in running):
                alive = ", ".join(f"{r.name} (pid {r.pid})" for r in running if r.alive())
                raise StackError(f"the stack in {self.dir} is already up: {alive}. "
                                 f"Run `richness down --data-dir {self.dir}` first.")
            for leftover in running:  # a crashed previous stack: clean its remains
                stop(leftover)
            self.run_json.unlink(missing_ok=True)
            self.stack_json.unlink(missing_ok=True)

            secret = self._secrets()
            # The stack's key is the named key "local" of the keys file the ingest reads (richness keys).
            KeysFile(self.keys_file).ensure("local", secret["api_key"])
            ports = self._ports()
            env = os.environ if self.external_clickhouse else {}  # credentials of an external server
            info = StackInfo(
                ingest_url=f"http://127.0.0.1:{ports['ingest']}",
                api_key=secret["api_key"],
                clickhouse_url=env.get("RICHNESS_CLICKHOUSE_URL") or f"http://127.0.0.1:{ports['clickhouse_http']}",
                kafka_bootstrap=os.environ.get("RICHNESS_KAFKA_BOOTSTRAP") or f"127.0.0.1:{ports['broker']}",
                clickhouse_user=env.get("RICHNESS_CLICKHOUSE_USER") or ADMIN_USER,
                clickhouse_password=env.get("RICHNESS_CLICKHOUSE_PASSWORD") or secret["clickhouse_password"],
                clickhouse_reader_user=env.get("RICHNESS_CLICKHOUSE_READER_USER") or READER_USER,
                clickhouse_reader_password=env.get("RICHNESS_CLICKHOUSE_READER_PASSWORD")
                or secret["clickhouse_reader_password"],
                data_dir=str(self.dir),
                # The embedded broker is always Tansu; an external one is Kafka unless told otherwise.
                kafka_compat=os.environ.get("RICHNESS_KAFKA_COMPAT", "kafka") if self.external_kafka else "tansu",
                partitions=self.settings.partitions,
            )
            started: list[Running] = []
            try:
                for spec in self._specs(info, ports):
                    if isinstance(spec, Step):
                        report(spec.description)
                        spec.run(report)
                        continue
                    report(f"starting {spec.name}")
                    process = spawn(spec, self.logs)
                    started.append(process)
                    self._save_running(started)
                    wait_healthy(spec, process)
                    info.logs[spec.name] = process.log
                    report(f"{spec.name} is healthy")
            except BaseException:
                for process in reversed(started):
                    stop(process)
                self.run_json.unlink(missing_ok=True)
                raise
            _write_private(self.stack_json, asdict(info))
            return info

    def down(self, report: Callable[[str], None] = lambda _: None) -> list[str]:
        """Stop everything this stack started, crashed components included. Returns names stopped."""
        if not self.dir.exists():
            return []
        with self._lock():
            stopped = []
            for process in reversed(self._running()):
                report(f"stopping {process.name}")
                if stop(process):
                    stopped.append(process.name)
            self.run_json.unlink(missing_ok=True)
            self.stack_json.unlink(missing_ok=True)
            return stopped

    def status(self) -> list[ComponentStatus]:
        return [ComponentStatus(r.name, r.pid, r.alive(), r.log) for r in self._running()]

    def info(self) -> StackInfo:
        if not self.stack_json.exists():
            raise StackError(f"no running stack in {self.dir}: run `richness up` first")
        return StackInfo(**json.loads(self.stack_json.read_text()))

    # --- internals ------------------------------------------------------------------------
    def _specs(self, info: StackInfo, ports: dict[str, int]) -> Iterator[Spec | Step]:
        if not self.external_kafka:
            yield components.broker(ports["broker"])
        if not self.external_clickhouse:
            yield components.clickhouse(
                self.dir / "clickhouse", http_port=ports["clickhouse_http"], tcp_port=ports["clickhouse_tcp"],
                admin_user=info.clickhouse_user, admin_password=info.clickhouse_password,
                reader_user=info.clickhouse_reader_user, reader_password=info.clickhouse_reader_password)
        env = self.service_env(info)
        yield Step("applying the ClickHouse schema", lambda report: self._migrate(env))
        if not self.external_kafka:  # a fresh, empty in-memory broker
            yield Step("restoring the event log from ClickHouse", lambda report: restore_event_log(
                settings_from_env(env), lambda done, total: report(f"restoring the event log: {done:,}/{total:,} events")))
        yield components.ingest(env, ports["ingest"])
        yield components.worker("processor", "services.processor", env, ports["processor_metrics"])
        yield components.worker("sink", "services.sink", env, ports["sink_metrics"])

    def client_settings(self) -> Settings:
        """Settings that reach the running stack (for drain, import, queries)."""
        return settings_from_env(self.service_env(self.info()))

    @staticmethod
    def _migrate(env: dict[str, str]) -> None:
        settings = settings_from_env(env)
        try:
            migrate(connect(settings), settings.clickhouse_database)
        except Exception as exc:  # noqa: BLE001 - reported with the component's name
            raise StackError(f"applying the ClickHouse schema failed: {exc}") from exc

    def service_env(self, info: StackInfo) -> dict[str, str]:
        """Environment of the project's own services when run by the local stack."""
        return {
            "RICHNESS_KAFKA_BOOTSTRAP": info.kafka_bootstrap,
            "RICHNESS_KAFKA_COMPAT": info.kafka_compat,
            "RICHNESS_PARTITIONS": str(info.partitions),
            "RICHNESS_CLICKHOUSE_URL": info.clickhouse_url,
            "RICHNESS_CLICKHOUSE_USER": info.clickhouse_user,
            "RICHNESS_CLICKHOUSE_PASSWORD": info.clickhouse_password,
            "RICHNESS_CLICKHOUSE_READER_USER": info.clickhouse_reader_user,
            "RICHNESS_CLICKHOUSE_READER_PASSWORD": info.clickhouse_reader_password,
            "RICHNESS_API_KEYS_FILE": str(self.keys_file),
        }

    def _ports(self) -> dict[str, int]:
        """Configured ports must be free (clear error); others reuse the last ones or pick free ones."""
        path = self.dir / "ports.json"
        previous = json.loads(path.read_text()) if path.exists() else {}
        configured = {
            "broker": self.settings.broker_port,
            "clickhouse_http": self.settings.clickhouse_http_port,
            "clickhouse_tcp": self.settings.clickhouse_tcp_port,
            "ingest": self.settings.ingest_port,
            "processor_metrics": self.settings.processor_metrics_port,
            "sink_metrics": self.settings.sink_metrics_port,
        }
        ports: dict[str, int] = {}
        for name, port in configured.items():
            if port:
                if not port_is_free(port):
                    raise StackError(f"port {port} for {name} (RICHNESS_STACK_{name.upper()}_PORT) "
                                     "is already in use on 127.0.0.1; free it or choose another")
                ports[name] = port
        for name in configured:
            if name in ports:
                continue
            last = previous.get(name)
            taken = set(ports.values())
            ports[name] = last if last and last not in taken and port_is_free(last) else _fresh_port(taken)
        _write_private(path, ports)
        return ports

    def _secrets(self) -> dict[str, str]:
        path = self.dir / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        generated = {
            "api_key": "rk_" + secrets.token_urlsafe(24),
            "clickhouse_password": secrets.token_urlsafe(18),
            "clickhouse_reader_password": secrets.token_urlsafe(18),
        }
        _write_private(path, generated)
        return generated

    def _running(self) -> list[Running]:
        if not self.run_json.exists():
            return []
        return [Running(**entry) for entry in json.loads(self.run_json.read_text())]

    def _save_running(self, running: list[Running]) -> None:
        _write_private(self.run_json, [asdict(r) for r in running])

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.dir / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StackError(f"another richness command is starting or stopping the stack in {self.dir}") from None
            yield


def ingest_target(ingest_url: str | None, api_key: str | None, data_dir: Path) -> tuple[str, str]:
    """The given ingest URL and key, or the local stack's. Raises ``StackError`` if none is up."""
    if ingest_url is None or api_key is None:
        info = LocalStack(data_dir).info()
        ingest_url, api_key = ingest_url or info.ingest_url, api_key or info.api_key
    return ingest_url, api_key


def settings_from_env(env: dict[str, str]) -> Settings:
    return Settings(**{key.removeprefix("RICHNESS_").lower(): value for key, value in env.items()})


def _fresh_port(taken: set[int]) -> int:
    while (port := free_port()) in taken:
        pass
    return port


def _write_private(path: Path, data: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
