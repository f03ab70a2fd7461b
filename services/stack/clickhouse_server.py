"""Run a real ClickHouse server (the engine embedded in ``chdb-core``) in this process.

``python -m services.stack.clickhouse_server --home DIR`` serves HTTP and native TCP on 127.0.0.1
with the ports and users written by :func:`write_config`. Data lives in ``DIR/data`` and survives
restarts and kill -9.

How it works (measured, see the project notes): clickhouse-local inside chdb opens listeners only
from the module-level ``chdb._chdb.query`` with a ``config.xml`` in the current directory, and
keeps them while that call runs. So a worker thread runs ``SYSTEM START LISTEN`` followed by a
blocking keep-alive query, and the main thread waits for SIGTERM/SIGINT, then cancels the
keep-alive with ``KILL QUERY`` over HTTP, which ends the call and the listeners cleanly.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from shared.config import check_database_name

KEEPALIVE_ALIAS = "richness_keepalive"
KEEPALIVE_SQL = (
    "SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; "
    # A discarded sleepEachRow is pruned and spins a core: aggregate it.
    f"SELECT max(sleepEachRow(1)) AS {KEEPALIVE_ALIAS} FROM system.numbers "
    "SETTINGS max_block_size=1, function_sleep_max_microseconds_per_block=0"
)


@dataclass(frozen=True)
class ClusterConfig:
    """A cluster of servers on this machine, one per shard (no replicas: the embedded engine has
    no Keeper), named in ``remote_servers`` as the schema's Distributed tables name it."""

    name: str
    secret: str  # the servers' shared secret: a sub-query on another shard runs as the user who asked
    shard_tcp_ports: tuple[int, ...]

    def xml(self) -> str:
        shards = "".join(
            "      <shard><internal_replication>true</internal_replication>"
            f"<replica><host>127.0.0.1</host><port>{port}</port></replica></shard>\n"
            for port in self.shard_tcp_ports)
        return (
            # The embedded engine starts no pool for a Distributed table's background sends by
            # default: inserts for other shards would wait on disk until a SYSTEM FLUSH DISTRIBUTED.
            "  <background_distributed_schedule_pool_size>4</background_distributed_schedule_pool_size>\n"
            f"  <remote_servers>\n    <{self.name}>\n      <secret>{escape(self.secret)}</secret>\n"
            f"{shards}    </{self.name}>\n  </remote_servers>\n")


def write_config(home: Path, *, http_port: int, tcp_port: int, admin_user: str, admin_password: str,
                 reader_user: str, reader_password: str, cluster: ClusterConfig | None = None,
                 database: str = "richness") -> None:
    """Write config.xml and users.xml for the server (and its place in ``cluster``, if any); the
    reader may read ``database`` (``RICHNESS_CLICKHOUSE_DATABASE``) and nothing else.

    ``default`` must stay password-less for the embedded engine's own in-process session (it
    connects as ``default`` over loopback), so it gets only the two grants that session needs.
    Clients use the admin user (schema and writes) or the read-only user (dashboards, analysts).
    In a cluster the servers authenticate each other with the cluster's secret and run a
    sub-query as the user who asked, so ``default`` stays as it is and the reader stays read-only.
    """
    check_database_name(database)
    home.mkdir(parents=True, exist_ok=True)
    users_path = home / "users.xml"
    (home / "config.xml").write_text(
        "<clickhouse>\n"
        "  <listen_host>127.0.0.1</listen_host>\n"
        f"  <http_port>{http_port}</http_port>\n"
        f"  <tcp_port>{tcp_port}</tcp_port>\n"
        f"  <users_config>{escape(str(users_path))}</users_config>\n"
        "  <logger><level>warning</level><console>1</console></logger>\n"
        f"{cluster.xml() if cluster else ''}"
        "</clickhouse>\n"
    )
    os.chmod(home / "config.xml", 0o600)  # the cluster's secret
    users_path.write_text(
        "<clickhouse>\n"
        "  <users>\n"
        "    <default>\n"
        "      <password></password>\n"
        "      <networks><ip>::1</ip></networks>\n"
        "      <profile>default</profile><quota>default</quota>\n"
        "      <grants><query>GRANT SYSTEM LISTEN ON *.*</query>"
        "<query>GRANT SELECT ON system.numbers</query></grants>\n"
        "    </default>\n"
        f"    <{admin_user}>\n"
        f"      <password>{escape(admin_password)}</password>\n"
        "      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
        "      <profile>default</profile><quota>default</quota>\n"
        "      <access_management>1</access_management>\n"
        f"    </{admin_user}>\n"
        f"    <{reader_user}>\n"
        f"      <password>{escape(reader_password)}</password>\n"
        "      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
        "      <profile>readonly</profile><quota>default</quota>\n"
        f"      <grants><query>GRANT SELECT ON {database}.*</query></grants>\n"
        f"    </{reader_user}>\n"
        "  </users>\n"
        "  <profiles>\n"
        "    <default></default>\n"
        # On a cluster, a read naming accounts asks only the shards holding them (no-op otherwise).
        "    <readonly><readonly>1</readonly><optimize_skip_unused_shards>1</optimize_skip_unused_shards></readonly>\n"
        "  </profiles>\n"
        "  <quotas><default></default></quotas>\n"
        "</clickhouse>\n"
    )
    (home / "server.json").write_text(json.dumps({
        "http_port": http_port, "tcp_port": tcp_port,
        "admin_user": admin_user, "admin_password": admin_password,
    }))
    os.chmod(users_path, 0o600)
    os.chmod(home / "server.json", 0o600)


def _kill_keepalive(home: Path) -> None:
    server = json.loads((home / "server.json").read_text())
    token = base64.b64encode(f"{server['admin_user']}:{server['admin_password']}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server['http_port']}/",
        data=f"KILL QUERY WHERE query LIKE '%{KEEPALIVE_ALIAS}%' AND query NOT LIKE '%KILL QUERY%' ASYNC".encode(),
        headers={"Authorization": f"Basic {token}"},
    )
    urllib.request.urlopen(request, timeout=5).read()


def serve(home: Path) -> int:
    home = home.resolve()
    # chdb connects as `default` when imported and reads config.xml from the working directory.
    os.chdir(home)
    import chdb._chdb as engine  # noqa: PLC0415 - import only after chdir, see above

    outcome: dict[str, BaseException | None] = {"error": None}

    def run() -> None:
        try:
            engine.query(KEEPALIVE_SQL, "TabSeparated", path=str(home / "data"))
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="clickhouse", daemon=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    while worker.is_alive() and not stop.wait(0.2):
        pass
    if stop.is_set() and worker.is_alive():
        try:
            _kill_keepalive(home)
        except OSError as exc:
            print(f"clickhouse: could not cancel the keep-alive query: {exc}", file=sys.stderr)
        worker.join(timeout=15)
    if outcome["error"] is not None and not stop.is_set():
        print(f"clickhouse: server stopped: {outcome['error']}", file=sys.stderr)
        return 1
    return 0 if stop.is_set() else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True,
                        help="directory holding config.xml, users.xml and data/ (see write_config)")
    sys.exit(serve(parser.parse_args().home))


if __name__ == "__main__":
    main()
