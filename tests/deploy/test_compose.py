"""docker-compose.yml cannot run here (no Docker engine); check what can be checked: every
service the project has is in it, with the right command, environment and health check."""
from __future__ import annotations

from pathlib import Path

import yaml

from shared.alerting.receivers import AlertSettings
from shared.config import Settings
from shared.grafana.macros import PLUGIN_VERSION

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
STACK_ONLY = set()  # RICHNESS_* variables read by something other than shared.config.Settings


# The processor's two stages run as two services of one module.
STAGES = {"processor": "events", "accounts": "accounts"}


def project_services() -> list[str]:
    """Every runnable service of the project: a services/<name>/__main__.py, the processor once per stage."""
    modules = sorted(p.parent.name for p in (ROOT / "services").glob("*/__main__.py"))
    return sorted([m for m in modules if m != "processor"] + list(STAGES))


def command(name: str) -> list[str]:
    if name in STAGES:
        return ["python", "-m", "services.processor", "--stage", STAGES[name]]
    return ["python", "-m", f"services.{name}"]


def test_project_services_are_found():
    assert project_services() == ["accounts", "ingest", "processor", "sink"]


def test_every_project_service_runs_with_its_module_and_settings():
    for name in project_services():
        service = SERVICES[name]
        assert service["command"] == command(name), name
        env = service["environment"]
        assert env["RICHNESS_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["RICHNESS_KAFKA_COMPAT"] == "kafka", "production uses the normal Kafka paths"
        assert env["RICHNESS_CLICKHOUSE_URL"] == "http://clickhouse:8123"
        assert "healthcheck" in service, name
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_every_richness_variable_is_a_setting():
    known = {f"RICHNESS_{name.upper()}" for name in Settings.model_fields} | STACK_ONLY
    known |= {f"RICHNESS_ALERT_{name.upper()}" for name in AlertSettings.model_fields}
    for name, service in SERVICES.items():
        env = service.get("environment") or {}
        for variable in env:
            # ClickHouse servers and Grafana read their own (passwords, the cluster's secret) from the file they mount.
            reads_own = name == "grafana" or service.get("image", "").startswith("clickhouse/")
            if variable.startswith("RICHNESS_") and not reads_own:
                assert variable in known, f"{name}: {variable} is read by nothing"


def test_infrastructure_is_there_with_health_checks_and_volumes():
    for name in ("kafka", "clickhouse", "grafana", "prometheus"):
        assert "healthcheck" in SERVICES[name], name
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    grafana = SERVICES["grafana"]["environment"]
    # The plugin version the macros are reproduced for, and UTC dates for its $__dateFilter.
    assert grafana["GF_INSTALL_PLUGINS"] == f"grafana-clickhouse-datasource {PLUGIN_VERSION}"
    assert grafana["TZ"] == "UTC"
    mounts = " ".join(SERVICES["grafana"]["volumes"])
    assert "./grafana/provisioning:/etc/grafana/provisioning" in mounts
    for name in ("kafka", "clickhouse", "grafana", "prometheus"):
        assert any(":/" in v and not v.startswith(".") for v in SERVICES[name]["volumes"]), f"{name} keeps no data"
    assert SERVICES["migrate"]["command"] == ["richness", "migrate"]


def test_ingest_keeps_its_named_keys_on_a_volume_and_needs_no_environment_key():
    ingest = SERVICES["ingest"]
    path = ingest["environment"]["RICHNESS_API_KEYS_FILE"]
    [volume] = ingest["volumes"]
    name, mount = volume.split(":")
    assert name in COMPOSE["volumes"] and Path(path).parent == Path(mount)
    assert ":?" not in ingest["environment"]["RICHNESS_API_KEYS"]  # optional once keys are created
    assert f"chown richness {mount}" in (ROOT / "Dockerfile").read_text()


def test_prometheus_scrapes_every_service_on_its_port():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job["dns_sd_configs"][0] for job in config["scrape_configs"]}
    assert set(jobs) == set(project_services())
    assert jobs["ingest"]["port"] == int(SERVICES["ingest"]["environment"]["RICHNESS_INGEST_PORT"])
    for name in ("processor", "accounts", "sink"):
        assert jobs[name]["port"] == int(SERVICES[name]["environment"]["RICHNESS_METRICS_PORT"])
        assert jobs[name]["names"] == [name]


def test_processor_state_lives_where_the_service_user_may_write():
    for name in STAGES:
        path = SERVICES[name]["environment"]["RICHNESS_STATE_DIR"]
        assert f"chown richness /var/lib/richness/keys {path}" in (ROOT / "Dockerfile").read_text()


def test_host_ports_bind_loopback_by_default():
    for name, service in SERVICES.items():
        for mapping in service.get("ports", []):
            assert mapping.startswith("127.0.0.1:") or mapping.startswith("${RICHNESS_INGEST_BIND:-127.0.0.1}"), \
                f"{name} publishes {mapping} on every interface"


def test_grafana_datasource_uses_the_read_only_user():
    provisioning = yaml.safe_load((ROOT / "grafana/provisioning/datasources/richness.yaml").read_text())
    clickhouse = next(d for d in provisioning["datasources"] if d["type"] == "grafana-clickhouse-datasource")
    assert clickhouse["jsonData"]["username"] == "${RICHNESS_CLICKHOUSE_READER_USER}"
    assert SERVICES["grafana"]["environment"]["RICHNESS_CLICKHOUSE_READER_USER"] == "richness_reader"
    users = (ROOT / "deploy/clickhouse/users.d/richness.xml").read_text()
    assert "<richness_reader>" in users and "<readonly>1</readonly>" in users


def test_the_partition_count_has_one_default(monkeypatch):
    """Compose passes RICHNESS_PARTITIONS through without a default of its own; unset or empty,
    the services use the one in shared/config.py."""
    for name in project_services() + ["migrate"]:
        assert SERVICES[name]["environment"]["RICHNESS_PARTITIONS"] == "${RICHNESS_PARTITIONS:-}", name
    monkeypatch.setenv("RICHNESS_PARTITIONS", "")
    assert Settings().partitions == Settings.model_fields["partitions"].default
    monkeypatch.setenv("RICHNESS_PARTITIONS", "6")
    assert Settings().partitions == 6
