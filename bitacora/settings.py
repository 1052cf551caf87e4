"""Typed configuration: ``BITACORA_*`` environment variables and CLI flags.

Read once at the edge (the CLI) and passed into constructors; nothing deep in the code reads
the environment. Secrets are ``SecretStr`` so they never show up in logs or reprs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bitacora import schema

KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
KafkaCompression = Literal["zstd", "lz4", "gzip", "snappy", "none"]
EventLoop = Literal["uvloop", "asyncio"]


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback) / "bitacora"


class Settings(BaseSettings):
    """Every setting of every component; each reads only the fields it needs."""

    model_config = SettingsConfigDict(env_prefix="BITACORA_", extra="forbid", frozen=True)

    # Where the services are, and how to reach them (bitacora/clients.py uses these).
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None  # None: the system's trusted CAs
    kafka_ssl_certfile: Path | None = None  # client certificate (mTLS), PEM
    kafka_ssl_keyfile: Path | None = None  # its private key, PEM
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True
    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_user: str | None = None
    opensearch_password: SecretStr | None = None
    opensearch_verify_certs: bool = True
    opensearch_check_hostname: bool = True
    opensearch_ca_file: Path | None = None  # None: the system's trusted CAs
    opensearch_client_cert_file: Path | None = None  # client certificate (mTLS), PEM
    opensearch_client_key_file: Path | None = None
    opensearch_aws_region: str | None = None  # set: sign requests with AWS SigV4 ([aws] extra)
    opensearch_aws_service: Literal["es", "aoss"] = "es"  # aoss: OpenSearch Serverless

    # Topics.
    topic_raw: str = schema.TOPIC_RAW
    topic_normalized: str = schema.TOPIC_NORMALIZED
    topic_deadletter: str = schema.TOPIC_DEADLETTER
    topic_alerts: str = schema.TOPIC_ALERTS
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication: int = Field(default=1, ge=1)

    # Collector.
    bind_host: str = "127.0.0.1"
    forward_port: int = 24224
    http_port: int = 9880
    otlp_http_port: int = 4318  # OTLP/HTTP: POST /v1/logs (protobuf or JSON)
    otlp_grpc_port: int = 4317  # OTLP/gRPC: LogsService/Export
    syslog_port: int = 5514  # syslog over UDP and TCP (RFC 5424 / RFC 3164)
    syslog_tls_port: int = 6514  # syslog over TLS (RFC 5425), served when tls_cert_file is set
    max_syslog_message_bytes: int = Field(default=64 * 1024, ge=480)
    forward_shared_key: SecretStr | None = None
    forward_users_file: Path | None = None  # lines "username:password"
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None  # set to require client certificates
    http_token: SecretStr | None = None
    max_frame_bytes: int = Field(default=6 * 1024 * 1024, ge=1024)
    max_decompressed_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_http_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    http_publish_timeout_s: float = Field(default=10.0, gt=0)  # then 503: the client retries
    max_connections: int = Field(default=1024, ge=1)
    idle_timeout_s: float = Field(default=300.0, gt=0)
    max_inflight_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    kafka_linger_ms: int = Field(default=5, ge=0)
    kafka_max_batch_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Batch compression of what the collector, the processor's batch roles and the alerting
    # role's faust app produce (logs.raw, logs.normalized, dead letters, alerts, faust's
    # internal topics and changelogs): the broker stores, copies and serves a
    # fraction of the bytes (bench.kafka_client_bench --compression compares the broker's CPU).
    kafka_compression: KafkaCompression = "zstd"
    # The zstd level of those batches (Kafka's compression.zstd.level, KIP-390; Kafka's
    # default is 3). On both hops' bundles level 1 costs less CPU than 3 and compresses them
    # as well or better (python -m bench.zstd_levels); negative levels are zstd's fast ones.
    kafka_zstd_level: int = Field(default=1, ge=-131072, le=22)
    # The asyncio event loop of the stream processes (collector, processor): uvloop's (libuv,
    # in C) or CPython's own (bitacora/eventloop.py says why uvloop is the default).
    event_loop: EventLoop = "uvloop"

    # File input (``bitacora tail``, or inside the collector when tail_paths is set).
    # Paths or globs, comma-separated in BITACORA_TAIL_PATHS (or a JSON list).
    tail_paths: Annotated[list[str], NoDecode] = Field(default_factory=list)
    tail_service: str | None = None  # None: each file's name before its first dot
    tail_from_beginning: bool = False  # files present at start without a stored position
    tail_multiline_start: str | None = None  # regex: a line not matching it joins the last
    tail_max_line_bytes: int = Field(default=64 * 1024, ge=256)
    tail_poll_interval_s: float = Field(default=0.25, gt=0)
    tail_rotate_wait_s: float = Field(default=5.0, ge=0)  # read a rotated file this long

    # Processor.
    app_id: str = "bitacora"
    processor_data_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_STATE_HOME", ".local/state") / "faust"
    )
    # /healthz, /readyz and /metrics of a processor worker (0: any free port, logged).
    processor_http_port: int = Field(default=9881, ge=0, le=65535)
    # Each worker's health as a log event (dataset bitacora.health) this often; 0: never.
    health_event_interval_s: float = Field(default=60.0, ge=0)
    bulk_max_docs: int = Field(default=2000, ge=1)
    bulk_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # How long the index role gathers a bulk below bulk_max_docs. Short, as Logstash's
    # batch delay: under a backlog bulks fill at once anyway; under steady load a long wait
    # only delays searchability (python -m bench.run --only e2e with BITACORA_BULK_MAX_WAIT_S
    # set compares the ingest-to-searchable latencies and OpenSearch's CPU per event).
    bulk_max_wait_s: float = Field(default=0.1, gt=0)
    # Batches a normalize/index worker works on at once: the next is read and normalized
    # while the last one's produce or bulk request is under way.
    processor_batches_in_flight: int = Field(default=2, ge=1)
    max_field_bytes: int = Field(default=32 * 1024, ge=256)
    max_label_keys: int = Field(default=1000, ge=1)
    redact_patterns: list[str] = Field(default_factory=list)
    # Health-check lines (processors.normalize.parsers.healthcheck): parsed for events of
    # these services; extra regexes with named groups ``service`` and ``status``.
    health_check_services: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["health-check"]
    )
    health_check_patterns: list[str] = Field(default_factory=list)

    # Storage.
    retention_days: int = Field(default=14, ge=1)
    rollover_max_age: str = "1d"
    rollover_max_size: str = "10gb"
    index_shards: int = Field(default=1, ge=1)
    index_replicas: int = Field(default=0, ge=0)

    # Rules and alerting.
    rules_dir: Path | None = None  # None: the rules shipped in the ``rules`` package
    # Options every rule gets unless it sets them (webhook URLs, routing keys: ${VARS}).
    destinations_file: Path | None = None
    # How often the alerting role looks for changed rule files (SIGHUP: at once).
    rules_reload_interval_s: float = Field(default=5.0, gt=0)
    allowed_lateness_s: float = Field(default=60.0, ge=0)
    # Links in alerts: Dashboards, or the console (it opens Discover links in Explore).
    search_url_base: str = "http://127.0.0.1:5601"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_from: str = "bitacora@localhost"

    # Web console (bitacora ui): off loopback it refuses to start without a token.
    ui_host: str = "127.0.0.1"
    ui_port: int = Field(default=5602, ge=0, le=65535)
    ui_token: SecretStr | None = None

    # Local stack (bitacora stack).
    cache_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache"))
    state_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_STATE_HOME", ".local/state") / "stack"
    )
    opensearch_version: str = "3.8.0"
    kafka_version: str = "4.4.0"
    java_home_opensearch: Path | None = None  # None: the newest JDK under /usr/lib/jvm that runs it
    opensearch_heap: str = "2g"
    kafka_heap: str = "1g"

    @field_validator("tail_paths", "health_check_services", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """``a,b`` or a JSON list from the environment; a list as it is."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def kafka_record_limit(self) -> int:
        """The largest record value sent to Kafka; larger events are dead-lettered.

        ``kafka_max_batch_bytes`` (keep it at or under the broker's ``message.max.bytes``)
        less room for the batch and record headers: Kafka would refuse a larger record on
        every retry.
        """
        return self.kafka_max_batch_bytes - 4096
