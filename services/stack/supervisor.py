"""``richness up`` / ``down`` / ``status``: the embedded local stack, run by a supervisor.

Layout of the data directory (default ``./.richness``)::

    stack.json       what clients need: ingest_url, api_key, clickhouse_url (+ more), while up
    supervisor.json  the supervisor's phase and each component's process, state, restarts, last exit
    plan.json        what the supervisor runs (ports, URLs, which event log), written by ``up``
    secrets.json     generated API key and passwords, kept across down/up (0600)
    keys.json        the ingest API's named keys, hashed (``richness keys``; the stack's is "local")
    ports.json       the ports last used, reused when still free so URLs stay stable
    eventlog/        the durable event log: SeaweedFS's objects, written by the broker (Tansu)
    clickhouse/      the ClickHouse server's config and data
    processor/       the processor's local state (RICHNESS_STATE_DIR), accounts/ its second stage's
    prometheus/      Prometheus's configuration and data, when Prometheus is installed
    alertmanager/    Alertmanager's configuration and data, when it (and Prometheus) is installed
    logs/            one log file per component, and supervisor.log (exits and restarts)

``up`` starts one detached supervisor process per stack (``services.stack.daemon``), which
starts the components in dependency order (each healthy before the next) and restarts any that
exits; ``up`` follows its progress and returns once all are healthy, or stops everything and
names the component that failed with its last log lines. A Kafka or ClickHouse given by
environment (``RICHNESS_KAFKA_BOOTSTRAP``, ``RICHNESS_CLICKHOUSE_URL``) is used instead of
starting the embedded one.
"""
from __future__ import annotations

import asyncio
import fcntl
import json
import os
import secrets
import signal
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.alerts import alertmanager
from services.stack import components, prometheus
from services.stack import state as states
from services.stack.processes import (Running, Spec, StackError, exit_status, free_port, kill_processes, log_tail,
                                      port_is_free, processes_marked, python_module, spawn, stop)
from shared.api_keys import LOCAL_FILE_NAME, KeysFile
from shared.clickhouse.schema import apply as apply_schema
from shared.config import Settings
from shared.kafka.admin import ensure_topics, partition_mismatches

DEFAULT_DATA_DIR = Path(".richness")
ADMIN_USER = "richness"
READER_USER = "richness_reader"
MARKER = "RICHNESS_STACK_DIR"  # in the environment of every process a stack starts
PROMETHEUS_MISSING = ("Prometheus is not installed, so the stack runs without it and the Pipeline health "
                      "dashboard stays empty. Install Debian's package (`sudo apt-get install prometheus`, "
                      "or `make deps`) and run `richness down && richness up`.")
START_TIMEOUT_S = 900.0  # the supervisor's own per-component timeouts end start-up earlier

EventLog = Literal["durable", "memory"]


class StackSettings(BaseSettings):
    """Ports of the local stack (0 = reuse the last ones if free, else pick free ones), and
    which event log the embedded broker keeps."""

    model_config = SettingsConfigDict(env_prefix="RICHNESS_STACK_", extra="ignore")
    broker_port: int = Field(default=0, ge=0, le=65535)
    clickhouse_http_port: int = Field(default=0, ge=0, le=65535)
    clickhouse_tcp_port: int = Field(default=0, ge=0, le=65535)
    ingest_port: int = Field(default=0, ge=0, le=65535)
    processor_metrics_port: int = Field(default=0, ge=0, le=65535)
    accounts_metrics_port: int = Field(default=0, ge=0, le=65535)
    sink_metrics_port: int = Field(default=0, ge=0, le=65535)
    prometheus_port: int = Field(default=0, ge=0, le=65535)
    alertmanager_port: int = Field(default=0, ge=0, le=65535)
    # "durable": Tansu on a local S3 store (SeaweedFS) under DIR/eventlog, kept across down/up
    # and crashes. "memory": gone at every down or broker crash; for tests and experiments.
    event_log: EventLog = "durable"


class UnsavedEvents(StackError):
    """``down`` would discard accepted events that are not in ClickHouse yet."""


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
    state: str = "running"
    restarts: int = 0
    last_exit: str | None = None
    last_exit_at: float | None = None
    failing: bool = False


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
    partitions: int
    kafka_compat: str = "tansu"
    # "durable" or "memory" (the embedded broker's log), "external" (a Kafka given by environment)
    event_log: str = "durable"
    prometheus_url: str | None = None
    prometheus_scrape_interval: str | None = None
    alertmanager_url: str | None = None
    logs: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    """What the supervisor runs; written by ``up`` to DIR/plan.json."""

    info: StackInfo
    ports: dict[str, int]
    external_clickhouse: bool
    prometheus: str | None  # the binary, when installed
    alertmanager: str | None = None  # the binary, when installed (and Prometheus is)


class LocalStack:
    def __init__(self, data_dir: Path = DEFAULT_DATA_DIR, settings: StackSettings | None = None):
        self.dir = Path(data_dir).resolve()
        self.settings = settings or StackSettings()
        self.logs = self.dir / "logs"
        self.stack_json = self.dir / "stack.json"
        self.supervisor_json = self.dir / "supervisor.json"
        self.plan_json = self.dir / "plan.json"
        self.keys_file = self.dir / LOCAL_FILE_NAME

    # --- public operations ----------------------------------------------------------------
    def up(self, report: Callable[[str], None] = lambda _: None, warn: Callable[[str], None] = lambda _: None,
           event_log: EventLog | None = None) -> StackInfo:
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            self._refuse_if_running()
            self._clear_leftovers()
            plan = self._plan(event_log or self.settings.event_log)
            # The stack's key is the named key "local" of the keys file the ingest reads (richness keys).
            KeysFile(self.keys_file).ensure("local", plan.info.api_key)
            if plan.prometheus is None:
                warn(PROMETHEUS_MISSING)
            _write_private(self.plan_json, asdict(plan))
            supervisor = spawn(Spec("supervisor", python_module("services.stack.daemon", "--data-dir", str(self.dir))),
                               self.logs, extra_env={MARKER: str(self.dir)})
            try:
                self._follow_start(supervisor, report)
            except BaseException:
                self._stop_supervisor(supervisor, timeout_s=120)
                self._clear_leftovers()
                self.supervisor_json.unlink(missing_ok=True)
                raise
            _write_private(self.stack_json, asdict(plan.info))
            return plan.info

    def down(self, report: Callable[[str], None] = lambda _: None, force: bool = False) -> list[str]:
        """Stop everything this stack started, crashed components and a killed supervisor
        included. Returns the names of the components that were running.

        With an in-memory event log, refuses (``UnsavedEvents``) while accepted events are not
        in ClickHouse yet, unless ``force``."""
        if not self.dir.exists():
            return []
        with self._lock():
            supervisor = states.load(self.supervisor_json)
            if not force and self.stack_json.exists():
                self._refuse_if_unsaved(self.info())
            was_running = [c.name for c in supervisor.components if c.alive()] if supervisor else []
            for process in reversed(self._legacy_processes()):  # a stack started before supervision
                if stop(process):
                    was_running.append(process.name)
            if supervisor is not None:
                process = supervisor.process()
                if process.alive():
                    report("stopping the components")
                    self._stop_supervisor(process, timeout_s=sum(c.stop_timeout_s for c in supervisor.components) + 30)
                for component in reversed(supervisor.components):  # the supervisor was dead, or gave up
                    if component.alive():
                        report(f"stopping {component.name}")
                        stop(component.process())
            self._clear_leftovers()
            ports = json.loads((self.dir / "ports.json").read_text()) if (self.dir / "ports.json").exists() else {}
            components.remove_log_store_sockets({name.removeprefix("log_"): port for name, port in ports.items()
                                                 if name.startswith("log_")})
            os.sync()  # what the event log and ClickHouse wrote leaves the page cache now
            for path in (self.stack_json, self.supervisor_json, self.plan_json, self.dir / "run.json"):
                path.unlink(missing_ok=True)
            return list(reversed(was_running))

    def status(self) -> list[ComponentStatus]:
        """The supervisor first, then each component in start order; [] if no stack was started."""
        supervisor = states.load(self.supervisor_json)
        if supervisor is None:
            return []
        alive = supervisor.process().alive()
        rows = [ComponentStatus("supervisor", supervisor.pid, alive, supervisor.log,
                                state=supervisor.phase if alive else "down")]
        for c in supervisor.components:
            running = c.alive()
            # "waiting" (for its restart) only means something while a supervisor is there to restart it
            shown = c.state if running or (alive and c.state in ("waiting", "stopped")) else "down"
            rows.append(ComponentStatus(c.name, c.pid, running, c.log, shown, c.restarts, c.last_exit,
                                        c.last_exit_at, c.failing))
        return rows

    def problem(self) -> str | None:
        """Why the stack cannot catch up on its own right now, or None: a component that keeps
        dying, or one that is down while no supervisor is there to restart it."""
        supervisor = states.load(self.supervisor_json)
        if supervisor is None:
            return None
        supervised = supervisor.process().alive()
        if supervised and supervisor.phase != states.UP:
            return f"the stack's supervisor is {supervisor.phase}: {supervisor.error or supervisor.message}"
        for c in supervisor.components:
            if c.failing:
                when = time.strftime("%H:%M:%S", time.localtime(c.last_exit_at)) if c.last_exit_at else "?"
                return (f"{c.name} keeps exiting ({c.restarts} restarts; last: {c.last_exit} at {when}); "
                        f"last log lines of {c.log}:\n{log_tail(c.log, 10)}")
            if not supervised and not c.alive():
                return (f"{c.name} is down and nothing restarts it: the stack's supervisor is not running. "
                        f"Run `richness down --data-dir {self.dir}` then `richness up --data-dir {self.dir}`.")
        return None

    def info(self) -> StackInfo:
        if not self.stack_json.exists():
            raise StackError(f"no running stack in {self.dir}: run `richness up` first")
        return StackInfo(**json.loads(self.stack_json.read_text()))

    def load_plan(self) -> Plan:
        data = json.loads(self.plan_json.read_text())
        return Plan(**{**data, "info": StackInfo(**data["info"])})

    def client_settings(self) -> Settings:
        """Settings that reach the running stack (for drain, import, queries)."""
        return settings_from_env(self.service_env(self.info()))

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

    # --- what runs -------------------------------------------------------------------------
    def specs(self, plan: Plan) -> Iterator[Spec | Step]:
        """The components in start order, with the one-off steps between them."""
        info, ports = plan.info, plan.ports
        if info.event_log == "durable":
            store = self.log_store(ports)
            yield components.log_store(store)
            yield components.broker(ports["broker"], store)
        elif info.event_log == "memory":
            yield components.broker(ports["broker"])
        env = self.service_env(info)
        settings = settings_from_env(env)
        if not plan.external_clickhouse:
            yield components.clickhouse(
                self.dir / "clickhouse", http_port=ports["clickhouse_http"], tcp_port=ports["clickhouse_tcp"],
                admin_user=info.clickhouse_user, admin_password=info.clickhouse_password,
                reader_user=info.clickhouse_reader_user, reader_password=info.clickhouse_reader_password,
                database=settings.clickhouse_database)
        yield Step("checking the topics", lambda report: _check_topics(settings))
        yield Step("applying the ClickHouse schema", lambda report: _migrate(settings))
        yield components.ingest(env, ports["ingest"])
        yield components.processor("events", env, ports["processor_metrics"], self.dir / "processor")
        yield components.processor("accounts", env, ports["accounts_metrics"], self.dir / "accounts")
        yield components.worker("sink", "services.sink", env, ports["sink_metrics"])
        if plan.prometheus:
            alerting = None
            if plan.alertmanager:  # the pipeline rules' alerts, to the receivers of RICHNESS_ALERT_*
                yield alertmanager.component(self.dir / "alertmanager", ports["alertmanager"],
                                             os.environ.get("RICHNESS_ALERT_WEBHOOK_URL"))
                alerting = alertmanager.prometheus_alerting(ports["alertmanager"])
            home = self.dir / "prometheus"
            prometheus.write_config(home, {"ingest": ports["ingest"], "processor": ports["processor_metrics"],
                                           "accounts": ports["accounts_metrics"], "sink": ports["sink_metrics"]},
                                    alerting)
            yield components.prometheus(Path(plan.prometheus), home, ports["prometheus"])

    def log_store(self, ports: dict[str, int]) -> components.LogStore:
        secret = self._secrets()
        return components.LogStore(self.dir / "eventlog", secret["log_store_access_key"], secret["log_store_secret_key"],
                                   {name: ports[f"log_{name}"] for name in components.LogStore.PORT_NAMES})

    def _plan(self, event_log: EventLog) -> Plan:
        external_kafka = "RICHNESS_KAFKA_BOOTSTRAP" in os.environ
        external_clickhouse = "RICHNESS_CLICKHOUSE_URL" in os.environ
        binary = components.prometheus_binary()
        manager = alertmanager.installed() if binary else None
        secret = self._secrets()
        ports = self._ports(event_log="external" if external_kafka else event_log, prometheus=binary is not None,
                            alertmanager=manager is not None)
        env = os.environ if external_clickhouse else {}  # credentials of an external server
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
            # One truth for the partition count: the project's settings (RICHNESS_PARTITIONS).
            partitions=Settings().partitions,
            # The embedded broker is always Tansu; an external one is Kafka unless told otherwise.
            kafka_compat=os.environ.get("RICHNESS_KAFKA_COMPAT", "kafka") if external_kafka else "tansu",
            event_log="external" if external_kafka else event_log,
            prometheus_url=f"http://127.0.0.1:{ports['prometheus']}" if binary else None,
            prometheus_scrape_interval=prometheus.SCRAPE_INTERVAL if binary else None,
            alertmanager_url=f"http://127.0.0.1:{ports['alertmanager']}" if manager else None,
        )
        return Plan(info, ports, external_clickhouse, str(binary) if binary else None, manager)

    # --- start and stop ---------------------------------------------------------------------
    def _refuse_if_running(self) -> None:
        alive = [f"{p.name} (pid {p.pid})" for p in self._legacy_processes() if p.alive()]
        supervisor = states.load(self.supervisor_json)
        if supervisor is not None:
            alive += [f"{c.name} (pid {c.pid})" for c in supervisor.components if c.alive()]
            if supervisor.process().alive():
                alive.insert(0, f"supervisor (pid {supervisor.pid})")
        if alive:
            raise StackError(f"the stack in {self.dir} is already up: {', '.join(alive)}. "
                             f"Run `richness down --data-dir {self.dir}` first.")

    def _follow_start(self, supervisor: Running, report: Callable[[str], None]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        shown = None
        while time.monotonic() < deadline:
            current = states.load(self.supervisor_json)
            if current is not None and current.pid == supervisor.pid:
                if current.message != shown:
                    shown = current.message
                    report(current.message)
                if current.phase == states.UP:
                    return
                if current.phase == states.FAILED:
                    raise StackError(current.error or "start-up failed")
            status = exit_status(supervisor.pid)
            if status is not None:
                raise StackError(f"the stack's supervisor exited during start-up; last lines of "
                                 f"{supervisor.log}:\n{log_tail(supervisor.log)}")
            time.sleep(0.1)
        raise StackError(f"the stack was not up after {START_TIMEOUT_S:.0f} s; see {self.logs}")

    @staticmethod
    def _stop_supervisor(supervisor: Running, timeout_s: float) -> None:
        """SIGTERM: the supervisor stops its components, then exits."""
        if not supervisor.alive():
            return
        os.kill(supervisor.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            exit_status(supervisor.pid)  # reaps it when it is our child (up's own clean-up)
            if not supervisor.alive():
                return
            time.sleep(0.1)
        stop(supervisor)

    def _clear_leftovers(self) -> None:
        """Kill whatever still carries this stack's marker (a killed supervisor's orphans)."""
        kill_processes(processes_marked(f"{MARKER}={self.dir}"))

    def _legacy_processes(self) -> list[Running]:
        """What a stack started by an earlier version (no supervisor) listed in DIR/run.json."""
        try:
            return [Running(**entry) for entry in json.loads((self.dir / "run.json").read_text())]
        except (OSError, ValueError, TypeError):
            return []

    def _refuse_if_unsaved(self, info: StackInfo) -> None:
        if info.event_log != "memory":
            return  # a durable or external log keeps what the sink has not stored yet
        from services.stack.pending import unsaved  # noqa: PLC0415 - Kafka clients only when needed

        try:
            pending = asyncio.run(unsaved(self.client_settings()))
        except Exception:  # noqa: BLE001 - the in-memory broker is gone: so is what it held
            return
        if pending.events or pending.fact_records:
            facts = f" (and {pending.fact_records:,} records of derived facts)" if pending.fact_records else ""
            raise UnsavedEvents(
                f"this stack's event log is in memory and {pending.events:,} accepted events are not in "
                f"ClickHouse yet{facts}: `down` would discard them. Run `richness drain --data-dir {self.dir}` "
                f"first, or `richness down --force` to discard them.")

    # --- files -----------------------------------------------------------------------------
    def _ports(self, event_log: str, prometheus: bool, alertmanager: bool = False) -> dict[str, int]:
        """Configured ports must be free (clear error); others reuse the last ones or pick free ones."""
        path = self.dir / "ports.json"
        previous = json.loads(path.read_text()) if path.exists() else {}
        configured = {
            "broker": self.settings.broker_port,
            "clickhouse_http": self.settings.clickhouse_http_port,
            "clickhouse_tcp": self.settings.clickhouse_tcp_port,
            "ingest": self.settings.ingest_port,
            "processor_metrics": self.settings.processor_metrics_port,
            "accounts_metrics": self.settings.accounts_metrics_port,
            "sink_metrics": self.settings.sink_metrics_port,
        }
        if prometheus:
            configured["prometheus"] = self.settings.prometheus_port
        if alertmanager:
            configured["alertmanager"] = self.settings.alertmanager_port
        if event_log == "durable":
            configured.update({f"log_{name}": 0 for name in components.LogStore.PORT_NAMES})
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
            if name == "log_admin":  # needs its +10000 neighbour too
                reusable = last and not {last, last + 10_000} & taken and port_is_free(last) and port_is_free(last + 10_000)
                ports[name] = last if reusable else components.admin_port(taken)
            else:
                ports[name] = last if last and last not in taken and port_is_free(last) else _fresh_port(taken)
        _write_private(path, {**previous, **ports})
        return ports

    def _secrets(self) -> dict[str, str]:
        path = self.dir / "secrets.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        generated = {
            "api_key": "rk_" + secrets.token_urlsafe(24),
            "clickhouse_password": secrets.token_urlsafe(18),
            "clickhouse_reader_password": secrets.token_urlsafe(18),
            "log_store_access_key": "richness-" + secrets.token_hex(8),
            "log_store_secret_key": secrets.token_urlsafe(24),
        }
        if generated.keys() - current.keys():  # a new kind of secret: added, the old ones kept
            current = {**generated, **current}
            _write_private(path, current)
        return current

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.dir / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StackError(f"another richness command is starting or stopping the stack in {self.dir}") from None
            yield


def _check_topics(settings: Settings) -> None:
    """Refuse a configuration that disagrees with the topics already in the log, then create
    the missing ones with the configured partition count."""
    mismatches = asyncio.run(partition_mismatches(settings))
    if mismatches:
        raise StackError(
            "; ".join(mismatches) + ". A topic's partition count is fixed for its life (keys are routed by "
            f"hash): set RICHNESS_PARTITIONS to the topics' count, or use a new --data-dir for "
            f"{settings.partitions} partitions.")
    asyncio.run(ensure_topics(settings))


def _migrate(settings: Settings) -> None:
    try:
        apply_schema(settings)
    except Exception as exc:  # noqa: BLE001 - reported with the component's name
        raise StackError(f"applying the ClickHouse schema failed: {exc}") from exc


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
