"""The compose profile `cluster` (no Docker engine here): 2 shards x 2 replicas and a three-node
ClickHouse Keeper whose names, places and ports agree between docker-compose.yml, the cluster's
ClickHouse configuration and Keeper's, with the services pointed at the cluster."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from shared.clickhouse.layout import Layout
from shared.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
CLUSTER_XML = ET.parse(ROOT / "deploy/clickhouse/config.d/cluster-richness.xml").getroot()
KEEPER_XML = ET.parse(ROOT / "deploy/clickhouse/keeper/keeper.xml").getroot()
CONFIG_MOUNT = re.compile(r"^\./deploy/clickhouse/config\.d/cluster-\$\{RICHNESS_CLICKHOUSE_CLUSTER:-none\}\.xml:"
                          r"/etc/clickhouse-server/config\.d/cluster\.xml:ro$")


def clickhouse_nodes() -> dict[str, dict]:
    return {name: s for name, s in SERVICES.items() if s.get("image", "").startswith("clickhouse/clickhouse-server")}


def test_the_cluster_has_two_shards_of_two_replicas_that_are_the_compose_nodes():
    [cluster] = CLUSTER_XML.find("remote_servers")
    assert cluster.tag == "richness"
    shards = [[(r.findtext("host"), r.findtext("port")) for r in shard.findall("replica")]
              for shard in cluster.findall("shard")]
    assert [len(replicas) for replicas in shards] == [2, 2]
    assert all(shard.findtext("internal_replication") == "true" for shard in cluster.findall("shard"))
    nodes = clickhouse_nodes()
    assert sorted(host for replicas in shards for host, _ in replicas) == sorted(nodes)
    for number, replicas in enumerate(shards, start=1):
        for host, port in replicas:
            node = nodes[host]
            # Each node's macros say where it is: {shard} in the Keeper paths, {replica} unique.
            assert node["environment"]["CLICKHOUSE_SHARD"] == str(number), host
            assert node["environment"]["CLICKHOUSE_REPLICA"] == host == node["hostname"]
            assert port == "9000"
            assert node.get("profiles", ["cluster"]) == ["cluster"]
    assert "profiles" not in nodes["clickhouse"], "the one server of the default profile is shard 1's first replica"


def test_every_node_mounts_the_configuration_of_the_cluster_it_is_told_and_keeps_its_own_data():
    for value in ("none", "richness"):  # RICHNESS_CLICKHOUSE_CLUSTER unset, and the profile's cluster
        assert (ROOT / f"deploy/clickhouse/config.d/cluster-{value}.xml").is_file()
    data = set()
    for name, node in clickhouse_nodes().items():
        mounts = node["volumes"]
        assert any(CONFIG_MOUNT.match(m) for m in mounts), name
        assert "./deploy/clickhouse/users.d/richness.xml:/etc/clickhouse-server/users.d/richness.xml:ro" in mounts
        data |= {m.split(":")[0] for m in mounts if not m.startswith(".")}
    assert len(data) == len(clickhouse_nodes()), "two nodes share a data volume"


def test_the_nodes_share_a_secret_and_keeper_and_replicas_fetch_with_credentials():
    [cluster] = CLUSTER_XML.find("remote_servers")
    assert cluster.find("secret").get("from_env") == "RICHNESS_CLICKHOUSE_CLUSTER_SECRET"
    assert CLUSTER_XML.find("interserver_http_credentials/password").get("from_env") == "RICHNESS_CLICKHOUSE_CLUSTER_SECRET"
    for node in clickhouse_nodes().values():
        assert node["environment"]["RICHNESS_CLICKHOUSE_CLUSTER_SECRET"] == "${RICHNESS_CLICKHOUSE_CLUSTER_SECRET:-}"
    assert CLUSTER_XML.find("macros/shard").get("from_env") == "CLICKHOUSE_SHARD"
    assert CLUSTER_XML.find("macros/replica").get("from_env") == "CLICKHOUSE_REPLICA"
    keepers = {name: s for name, s in SERVICES.items() if s.get("image", "").startswith("clickhouse/clickhouse-keeper")}
    assert len(keepers) == 3 and all(k["profiles"] == ["cluster"] and "healthcheck" in k for k in keepers.values())
    client_side = {(n.findtext("host"), n.findtext("port")) for n in CLUSTER_XML.findall("zookeeper/node")}
    assert client_side == {(name, KEEPER_XML.findtext("keeper_server/tcp_port")) for name in keepers}
    raft = {(s.findtext("id"), s.findtext("hostname")) for s in KEEPER_XML.findall("keeper_server/raft_configuration/server")}
    assert raft == {(k["environment"]["KEEPER_ID"], name) for name, k in keepers.items()}
    assert KEEPER_XML.find("keeper_server/server_id").get("from_env") == "KEEPER_ID"


def test_the_services_follow_the_cluster_setting_and_the_schema_waits_for_every_node():
    for name in ("ingest", "processor", "accounts", "sink", "migrate"):
        env = SERVICES[name]["environment"]
        assert env["RICHNESS_CLICKHOUSE_CLUSTER"] == "${RICHNESS_CLICKHOUSE_CLUSTER:-}", name
        assert env["RICHNESS_CLICKHOUSE_URL"] == "http://clickhouse:8123"
    assert Settings().clickhouse_replicated, "a compose cluster is replicated: ON CLUSTER DDL, Replicated* engines"
    assert Layout("richness", replicated=True).on_cluster == " ON CLUSTER 'richness'"
    waits = SERVICES["migrate"]["depends_on"]
    cluster_only = {name for name, s in SERVICES.items() if s.get("profiles") == ["cluster"]}
    assert cluster_only <= set(waits)
    for name in cluster_only:  # without the profile these do not exist: not required then
        assert waits[name] == {"condition": "service_healthy", "required": False}, name


def test_default_is_reachable_only_inside_its_container_and_readers_skip_unused_shards():
    users = ET.parse(ROOT / "deploy/clickhouse/users.d/richness.xml").getroot()
    networks = users.find("users/default/networks")
    assert networks.get("replace") == "replace"
    assert {ip.text for ip in networks.findall("ip")} == {"::1", "127.0.0.1"}
    assert users.findtext("profiles/readonly/optimize_skip_unused_shards") == "1"
