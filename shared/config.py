"""One place for configuration, read from ``RICHNESS_*`` environment variables.

The same services run on the embedded local stack (``richness up`` sets these variables for the
processes it starts) and against an existing Kafka and ClickHouse (set them yourself).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.events import DEFAULT_CURRENCY

# A ClickHouse database name as the schema and the grants write it unquoted.
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


def check_database_name(name: str) -> str:
    """``name`` if it can be written unquoted into SQL (the schema, the reader's grant)."""
    if not re.match(IDENTIFIER, name):
        raise ValueError(f"database name {name!r} must be a plain identifier")
    return name


class Settings(BaseSettings):
    # An empty variable counts as unset: docker-compose passes ${RICHNESS_X:-} through without
    # a default of its own, so every default lives here.
    model_config = SettingsConfigDict(env_prefix="RICHNESS_", extra="ignore", env_ignore_empty=True)

    # --- event log -------------------------------------------------------------------------
    kafka_bootstrap: str = "127.0.0.1:9092"
    # "kafka" for Apache Kafka (normal paths: idempotent producer, acks=all); "tansu" only for
    # the local stack's broker, which needs the work-arounds in shared.kafka.compat.
    kafka_compat: Literal["kafka", "tansu"] = "kafka"
    events_topic: str = "richness.events"
    facts_topic: str = "richness.facts"
    # Account changes from the processor's event rules to its account rules (partitioned by account).
    changes_topic: str = "richness.changes"
    dead_letter_topic: str = "richness.dead-letter"
    # Partition count used when the project creates its topics: THE default, for the local stack
    # and compose alike (`richness up` refuses when existing topics disagree). Fixed for a
    # topic's life: keys are routed by hash, so changing it would move keys away from their state.
    # It caps the processor workers that share the work.
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1)
    produce_timeout_s: float = Field(default=10.0, gt=0)

    # --- ClickHouse ------------------------------------------------------------------------
    clickhouse_url: str = "http://127.0.0.1:8123"
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")
    clickhouse_database: str = Field(default="richness", pattern=IDENTIFIER)
    # Read-only account created by the migrations, for dashboards and analysts.
    clickhouse_reader_user: str = "richness_reader"
    clickhouse_reader_password: SecretStr = SecretStr("")
    # When one machine is not enough: the name of a cluster in the servers' <remote_servers>
    # (empty: one server). The schema then keeps each table per shard behind a Distributed table
    # of the same name (shared/clickhouse/layout.py); the URL above is the node everything talks to.
    clickhouse_cluster: str = Field(default="", pattern=r"^([A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
    # Replicated* engines and ON CLUSTER DDL (production; needs ClickHouse Keeper). Without
    # replication the schema is applied on each node of clickhouse_nodes (their HTTP URLs).
    clickhouse_replicated: bool = True
    clickhouse_nodes: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # --- ingest API ------------------------------------------------------------------------
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # Named keys stored hashed, managed by `richness keys`; re-read by a running ingest when it changes.
    api_keys_file: Path | None = None
    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_batch_events: int = Field(default=10_000, ge=1)
    # The one currency of this deployment's money (ISO 4217): orders and refunds that name
    # another are refused, so sums of money never mix currencies.
    currency: str = Field(default=DEFAULT_CURRENCY, pattern=r"^[A-Za-z]{3}$")

    # --- workers (processor, sink) ---------------------------------------------------------
    # Consumer groups are "<prefix>-processor" (the event rules), "<prefix>-accounts" (the account
    # rules) and "<prefix>-sink"; Faust's changelog topics are named after the first two. Two pipelines on one broker need two prefixes.
    group_prefix: str = Field(default="richness", pattern=r"^[A-Za-z0-9._-]+$")
    # The processor's state: RocksDB files under state_dir ("memory" only for tests; it rebuilds
    # everything from the changelog on every start). One directory per processor worker.
    state_store: Literal["rocksdb", "memory"] = "rocksdb"
    state_dir: Path = Path("richness-processor-state")
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)  # 0: no metrics listener
    # A processor worker whose consumer group has records waiting and commits nothing for this
    # long (outside rebalances, state recovery and its own batches) exits with code 75 to be
    # restarted; 0: never.
    processor_stall_s: float = Field(default=60.0, ge=0)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        # RICHNESS_API_KEYS="key1,key2": comma-separated, blanks dropped.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("clickhouse_nodes", mode="before")
    @classmethod
    def _split_nodes(cls, value: object) -> object:
        # RICHNESS_CLICKHOUSE_NODES="http://a:8123,http://b:8123"
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("currency", mode="after")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return value.upper()

    @field_validator("api_keys_file", mode="before")
    @classmethod
    def _no_file_when_blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def is_tansu(self) -> bool:
        return self.kafka_compat == "tansu"

    @property
    def processor_group(self) -> str:
        return f"{self.group_prefix}-processor"

    @property
    def accounts_group(self) -> str:
        """The processor's second stage (the account rules)."""
        return f"{self.group_prefix}-accounts"

    @property
    def sink_group(self) -> str:
        return f"{self.group_prefix}-sink"

    def to_env(self) -> dict[str, str]:
        """These settings as RICHNESS_* variables, secrets included (for child processes)."""
        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, list):
                value = ",".join(v.get_secret_value() if isinstance(v, SecretStr) else str(v) for v in value)
            env[f"RICHNESS_{name.upper()}"] = str(value)
        return env


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
