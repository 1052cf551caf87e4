"""Pure rendering of the local stack's configuration: ports, paths, files, versions.

Nothing here touches the network or starts a process; the shell in ``services`` writes what
these functions return. Every function is unit-tested in ``tests/unit/test_stack_config.py``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bitacora.errors import StackError
from bitacora.settings import Settings

# Versions tried, newest first, when the requested integ-test-zip is not served or needs a
# newer Java than this machine has. 3.x needs Java 21+, 2.19.x runs on Java 17.
OPENSEARCH_FALLBACKS: tuple[str, ...] = ("3.8.0", "3.7.0", "3.6.0", "2.19.4")

OPENSEARCH_ARTIFACT = "org.opensearch.distribution.integ-test-zip:opensearch:{version}:zip"
PLUGIN_ARTIFACT = "org.opensearch.plugin:{name}:{version}.0:zip"
# Installed in this order when served for exactly the running OpenSearch version:
# index management (ISM) needs the job scheduler.
OPENSEARCH_PLUGINS: tuple[str, ...] = ("opensearch-job-scheduler", "opensearch-index-management")

KAFKA_MAIN = "kafka.Kafka"
KAFKA_STORAGE_TOOL = "kafka.tools.StorageTool"
OPENSEARCH_MAIN = "org.opensearch.bootstrap.OpenSearch"
# Kafka's poms declare slf4j 1.7 and no binding; the distribution ships slf4j 2 and the log4j2
# binding, so the generated pom adds them (otherwise the broker logs nothing).
SLF4J_VERSION = "2.0.17"
LOG4J_VERSION = "2.25.5"

SERVICES: tuple[str, ...] = ("opensearch", "kafka")

# The ports each service derives from its base port (ports_for), as offsets from it: Kafka's
# broker, KRaft controller, SASL_SSL and mTLS listeners; OpenSearch's HTTP and transport.
_CONTROLLER, _SASL_SSL, _MTLS = 1, 2, 3
_TRANSPORT = 100
KAFKA_PORT_OFFSETS: tuple[int, ...] = (0, _CONTROLLER, _SASL_SSL, _MTLS)
OPENSEARCH_PORT_OFFSETS: tuple[int, ...] = (0, _TRANSPORT)


@dataclass(frozen=True)
class Ports:
    """The TCP ports of the local stack, all on 127.0.0.1."""

    opensearch_http: int
    opensearch_transport: int
    kafka: int
    kafka_controller: int

    @property
    def kafka_sasl_ssl(self) -> int:
        """The SASL_SSL listener (SCRAM and PLAIN users): the broker port + 2."""
        return self.kafka + _SASL_SSL

    @property
    def kafka_ssl(self) -> int:
        """The SSL listener that requires a client certificate: the broker port + 3."""
        return self.kafka + _MTLS


def parse_host_port(address: str, default_port: int) -> tuple[str, int]:
    """``host:port`` or ``scheme://host:port/…`` → (host, port); the first of a list."""
    first = address.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"//{first}")
    if not parts.hostname:
        raise StackError(f"cannot read a host from {address!r}")
    return parts.hostname, parts.port or default_port


def ports_for(settings: Settings) -> Ports:
    """Derive the local stack's ports from ``opensearch_url`` and ``kafka_bootstrap``.

    The transport port is the HTTP port + 100 (9200 → 9300) and the KRaft controller port is
    the broker port + 1 (9092 → 9093), so a second stack on other ports never collides.
    """
    _, http = parse_host_port(settings.opensearch_url, 9200)
    _, kafka = parse_host_port(settings.kafka_bootstrap, 9092)
    return Ports(
        opensearch_http=http,
        opensearch_transport=http + _TRANSPORT,
        kafka=kafka,
        kafka_controller=kafka + _CONTROLLER,
    )


@dataclass(frozen=True)
class Layout:
    """Where everything of the local stack lives: downloads in the cache, the rest in state."""

    cache_dir: Path
    state_dir: Path

    @property
    def maven_repo(self) -> Path:
        return self.cache_dir / "m2"

    @property
    def downloads(self) -> Path:
        return self.cache_dir / "downloads"

    def opensearch_home(self, version: str) -> Path:
        return self.cache_dir / f"opensearch-{version}"

    def kafka_home(self, version: str) -> Path:
        return self.cache_dir / f"kafka-{version}"

    def kafka_libs(self, version: str) -> Path:
        return self.kafka_home(version) / "libs"

    def service_dir(self, service: str) -> Path:
        return self.state_dir / service

    def pid_file(self, service: str) -> Path:
        return self.state_dir / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        """stdout/stderr of the service's process (OpenSearch also logs under its logs dir)."""
        return self.service_dir(service) / "logs" / f"{service}.out"

    def version_file(self, service: str) -> Path:
        return self.service_dir(service) / "version"

    def marker(self, service: str) -> str:
        """A string only our process of ``service`` has in its command line (pid reuse safe)."""
        if service == "opensearch":
            return str(self.service_dir("opensearch") / "opensearch.pid")
        return str(self.service_dir("kafka") / "server.properties")


def layout_for(settings: Settings) -> Layout:
    """The layout for ``settings.cache_dir`` / ``settings.state_dir``."""
    return Layout(cache_dir=settings.cache_dir, state_dir=settings.state_dir)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"3.8.0"`` → ``(3, 8, 0)``; non-numeric parts count as 0."""
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def opensearch_min_java(version: str) -> int:
    """The oldest Java major an OpenSearch version runs on (3.x: 21, 2.x: 11)."""
    return 21 if version_tuple(version)[0] >= 3 else 11


def opensearch_candidates(requested: str, java_major: int) -> list[str]:
    """Versions to try in order: the requested one, then the fallbacks that are older.

    Only versions that run on ``java_major`` are kept; the requested version comes first.
    """
    ordered = [requested] + [
        v for v in OPENSEARCH_FALLBACKS if version_tuple(v) < version_tuple(requested)
    ]
    return [v for v in ordered if opensearch_min_java(v) <= java_major]


def opensearch_yml(ports: Ports, data: Path, logs: Path, ism: bool) -> str:
    """``opensearch.yml`` of a single-node, loopback-only, security-free cluster."""
    lines = [
        "cluster.name: bitacora-local",
        "node.name: bitacora-local",
        "network.host: 127.0.0.1",
        f"http.port: {ports.opensearch_http}",
        f"transport.port: {ports.opensearch_transport}",
        "discovery.type: single-node",
        f"path.data: {data}",
        f"path.logs: {logs}",
        # A nearly full disk on a dev machine must not make every index read-only.
        "cluster.routing.allocation.disk.threshold_enabled: false",
        "action.auto_create_index: true",
    ]
    if ism:
        # Minutes, the smallest unit ISM accepts: lets the ISM test see a transition quickly.
        lines.append("plugins.index_state_management.job_interval: 1")
    return "\n".join(lines) + "\n"


def heap_options(heap: str) -> str:
    """``jvm.options.d/heap.options``: fixed heap (min = max avoids resize pauses)."""
    return f"-Xms{heap}\n-Xmx{heap}\n"


def kafka_server_properties(
    ports: Ports, data: Path, secure: Mapping[str, str] | None = None
) -> str:
    """``server.properties`` of a KRaft broker+controller with one replica of everything.

    ``secure`` (from ``secure.server_properties``) adds its listeners to the PLAINTEXT and
    CONTROLLER ones and its other properties as they are.
    """
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{ports.kafka_controller}",
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{ports.kafka},CONTROLLER://127.0.0.1:{ports.kafka_controller}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{ports.kafka}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": "1",
        # Faust creates its own internal topics; clients of tests may rely on auto-create.
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "min.insync.replicas": "1",
        # Tests join and leave groups constantly; waiting 3 s per first join adds up.
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "24",
    }
    for key, value in (secure or {}).items():
        merged = key in ("listeners", "advertised.listeners", "listener.security.protocol.map")
        props[key] = f"{props[key]},{value}" if merged else value
    return "".join(f"{k}={v}\n" for k, v in props.items())


def kafka_log4j2(level: str = "INFO", log_dir: Path | None = None) -> str:
    """A log4j2 YAML config (Kafka 4 logs through log4j2).

    With ``log_dir``: ``server.log`` there, rolled at 50 MB, 3 kept (a long test session
    must not fill the disk); without: the console (for the storage tool).
    """
    if log_dir is None:
        appender = (
            "    Console:\n"
            "      name: OUT\n"
            "      PatternLayout:\n"
            '        pattern: "[%d] %p %m (%c)%n"\n'
        )
    else:
        appender = (
            "    RollingFile:\n"
            "      name: OUT\n"
            f'      fileName: "{log_dir}/server.log"\n'
            f'      filePattern: "{log_dir}/server.log.%i"\n'
            "      PatternLayout:\n"
            '        pattern: "[%d] %p %m (%c)%n"\n'
            "      Policies:\n"
            "        SizeBasedTriggeringPolicy:\n"
            "          size: 50 MB\n"
            "      DefaultRolloverStrategy:\n"
            "        max: 3\n"
        )
    return (
        "Configuration:\n"
        "  Appenders:\n"
        f"{appender}"
        "  Loggers:\n"
        "    Root:\n"
        f"      level: {level}\n"
        "      AppenderRef:\n"
        "        - ref: OUT\n"
        "    Logger:\n"
        "      - name: org.apache.kafka.common.config\n"
        "        level: WARN\n"
        "      - name: kafka.server.KafkaConfig\n"
        "        level: WARN\n"
        "      - name: state.change.logger\n"
        "        level: WARN\n"
    )


def kafka_pom(version: str) -> str:
    """A throwaway pom whose runtime dependencies are exactly the broker's classpath."""
    deps = [
        ("org.apache.kafka", "kafka_2.13", version),
        ("org.slf4j", "slf4j-api", SLF4J_VERSION),
        ("org.apache.logging.log4j", "log4j-slf4j2-impl", LOG4J_VERSION),
    ]
    body = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>\n"
        for g, a, v in deps
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "<modelVersion>4.0.0</modelVersion>\n"
        "<groupId>local.bitacora</groupId><artifactId>kafka-runtime</artifactId>"
        f"<version>{version}</version>\n<packaging>pom</packaging>\n"
        f"<dependencies>\n{body}</dependencies>\n</project>\n"
    )


def kafka_java_args(heap: str, libs: Path, log4j2: Path, logs: Path) -> list[str]:
    """JVM arguments for the broker, before the main class (classpath wildcard keeps it short)."""
    return [
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j2}",
        f"-Dkafka.logs.dir={logs}",
        "-cp",
        f"{libs}/*",
    ]


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (22 chars).

    Never one starting with ``-``: ``kafka-storage format -t -abc…`` reads it as an option
    and fails with its usage (Kafka's own ``Uuid.randomUuid`` skips those ids too).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def env_exports(settings: Settings) -> str:
    """The line ``bitacora stack env`` prints, to paste into a shell."""
    return (
        f"export BITACORA_OPENSEARCH_URL={settings.opensearch_url} "
        f"BITACORA_KAFKA_BOOTSTRAP={settings.kafka_bootstrap}"
    )
