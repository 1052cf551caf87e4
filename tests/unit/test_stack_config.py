"""The pure configuration of the local stack: ports, versions, rendered files."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bitacora.errors import StackError
from bitacora.settings import Settings
from bitacora.stack import config


def test_ports_follow_the_urls() -> None:
    settings = Settings(opensearch_url="http://127.0.0.1:19200", kafka_bootstrap="127.0.0.1:19092")
    assert config.ports_for(settings) == config.Ports(
        opensearch_http=19200, opensearch_transport=19300, kafka=19092, kafka_controller=19093
    )


def test_default_ports() -> None:
    assert config.ports_for(Settings()) == config.Ports(9200, 9300, 9092, 9093)


def test_the_port_offsets_are_the_ports_the_stack_derives() -> None:
    # Tests give a private stack a base port with these offsets free (bench.procs.free_port).
    ports = config.ports_for(Settings())
    assert [ports.kafka + offset for offset in config.KAFKA_PORT_OFFSETS] == [
        ports.kafka,
        ports.kafka_controller,
        ports.kafka_sasl_ssl,
        ports.kafka_ssl,
    ]
    assert [ports.opensearch_http + offset for offset in config.OPENSEARCH_PORT_OFFSETS] == [
        ports.opensearch_http,
        ports.opensearch_transport,
    ]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:9092", ("127.0.0.1", 9092)),
        ("localhost:1234,other:5", ("localhost", 1234)),
        ("http://127.0.0.1:9200/", ("127.0.0.1", 9200)),
        ("http://127.0.0.1", ("127.0.0.1", 7)),
        ("kafka://broker:29092", ("broker", 29092)),
    ],
)
def test_parse_host_port(address: str, expected: tuple[str, int]) -> None:
    assert config.parse_host_port(address, 7) == expected


def test_parse_host_port_rejects_garbage() -> None:
    with pytest.raises(StackError):
        config.parse_host_port("http://", 1)


def test_opensearch_candidates_on_java_25() -> None:
    assert config.opensearch_candidates("3.8.0", 25) == ["3.8.0", "3.7.0", "3.6.0", "2.19.4"]


def test_opensearch_candidates_unknown_newer_version_falls_back_to_known_ones() -> None:
    assert config.opensearch_candidates("3.9.0", 21) == [
        "3.9.0",
        "3.8.0",
        "3.7.0",
        "3.6.0",
        "2.19.4",
    ]


def test_opensearch_candidates_on_java_17_keep_only_2x() -> None:
    assert config.opensearch_candidates("3.8.0", 17) == ["2.19.4"]


def test_opensearch_min_java() -> None:
    assert (config.opensearch_min_java("3.0.0"), config.opensearch_min_java("2.19.4")) == (21, 11)


def test_version_tuple() -> None:
    assert config.version_tuple("2.19.4") < config.version_tuple("3.6.0")
    assert config.version_tuple("3.8.0-SNAPSHOT") == (3, 8, 0)


def test_opensearch_yml_without_ism() -> None:
    ports = config.Ports(9200, 9300, 9092, 9093)
    text = config.opensearch_yml(ports, Path("/s/data"), Path("/s/logs"), ism=False)
    assert text == (
        "cluster.name: bitacora-local\n"
        "node.name: bitacora-local\n"
        "network.host: 127.0.0.1\n"
        "http.port: 9200\n"
        "transport.port: 9300\n"
        "discovery.type: single-node\n"
        "path.data: /s/data\n"
        "path.logs: /s/logs\n"
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
        "action.auto_create_index: true\n"
    )


def test_opensearch_yml_with_ism_sets_a_one_minute_job_interval() -> None:
    ports = config.Ports(9200, 9300, 9092, 9093)
    text = config.opensearch_yml(ports, Path("/d"), Path("/l"), ism=True)
    assert text.endswith("plugins.index_state_management.job_interval: 1\n")


def test_heap_options() -> None:
    assert config.heap_options("2g") == "-Xms2g\n-Xmx2g\n"


def test_kafka_server_properties_kraft_combined_on_loopback() -> None:
    text = config.kafka_server_properties(config.Ports(1, 2, 19092, 19093), Path("/k/data"))
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["log.dirs"] == "/k/data"
    assert props["auto.create.topics.enable"] == "true"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "min.insync.replicas",
    ):
        assert props[key] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_kafka_pom_lists_the_broker_and_the_logging_binding() -> None:
    pom = config.kafka_pom("4.4.0")
    assert "<artifactId>kafka_2.13</artifactId><version>4.4.0</version>" in pom
    assert "<artifactId>log4j-slf4j2-impl</artifactId>" in pom
    assert "<artifactId>slf4j-api</artifactId><version>2.0.17</version>" in pom


def test_kafka_java_args_use_a_classpath_wildcard() -> None:
    args = config.kafka_java_args("1g", Path("/c/libs"), Path("/s/l.yaml"), Path("/s/logs"))
    assert args[:2] == ["-Xms1g", "-Xmx1g"]
    assert args[-2:] == ["-cp", "/c/libs/*"]
    assert "-Dlog4j2.configurationFile=/s/l.yaml" in args


def test_kafka_log4j2_console_for_tools() -> None:
    text = config.kafka_log4j2("WARN")
    assert "    Console:\n      name: OUT\n" in text
    assert "      level: WARN\n      AppenderRef:\n        - ref: OUT\n" in text


def test_kafka_log4j2_rolling_file_for_the_broker() -> None:
    text = config.kafka_log4j2("INFO", Path("/s/kafka/logs"))
    assert '      fileName: "/s/kafka/logs/server.log"\n' in text
    assert "          size: 50 MB\n" in text
    assert "        max: 3\n" in text
    assert "Console" not in text


def test_cluster_id_is_22_urlsafe_chars() -> None:
    ids = {config.new_cluster_id() for _ in range(20)}
    assert len(ids) == 20
    assert all(len(i) == 22 and "=" not in i and "+" not in i and "/" not in i for i in ids)


def test_layout_paths_and_markers() -> None:
    layout = config.Layout(cache_dir=Path("/c"), state_dir=Path("/s"))
    assert layout.opensearch_home("3.8.0") == Path("/c/opensearch-3.8.0")
    assert layout.kafka_libs("4.4.0") == Path("/c/kafka-4.4.0/libs")
    assert layout.pid_file("kafka") == Path("/s/kafka.pid")
    assert layout.log_file("kafka") == Path("/s/kafka/logs/kafka.out")
    assert layout.marker("kafka") == "/s/kafka/server.properties"
    assert layout.marker("opensearch") == "/s/opensearch/opensearch.pid"
    assert layout.maven_repo == Path("/c/m2")


def test_env_exports() -> None:
    assert config.env_exports(Settings()) == (
        "export BITACORA_OPENSEARCH_URL=http://127.0.0.1:9200 "
        "BITACORA_KAFKA_BOOTSTRAP=127.0.0.1:9092"
    )


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xf8 as the first byte encodes to "-" first; the next draw is used instead.
    draws = iter([uuid.UUID(bytes=b"\xf8" + b"\x00" * 15), uuid.UUID(bytes=b"\x00" * 16)])
    monkeypatch.setattr(config.uuid, "uuid4", lambda: next(draws))
    assert config.new_cluster_id() == "AAAAAAAAAAAAAAAAAAAAAA"
