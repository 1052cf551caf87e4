"""compose.yaml (for machines with Docker) agrees with the CLI: services, ports, variables,
versions. No Docker engine runs here, so the file is checked statically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bitacora.settings import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _host_ports(service: dict[str, Any]) -> set[str]:
    """``"127.0.0.1:9200:9200"`` → ``"9200"``, ``"24224:24224/udp"`` → ``"24224/udp"``."""
    ports = set()
    for entry in service.get("ports", []):
        container = str(entry).rsplit(":", 1)[1]
        host = str(entry).rsplit(":", 2)[-2]
        protocol = container.split("/")[1] if "/" in container else "tcp"
        assert host == container.split("/")[0], f"{entry}: host and container ports differ"
        ports.add(f"{host}/{protocol}")
    return ports


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "opensearch",
        "opensearch-dashboards",
        "kafka",
        "setup",
        "collector",
        "processor",
    }


def test_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert _host_ports(services["opensearch"]) == {"9200/tcp"}
    assert _host_ports(services["opensearch-dashboards"]) == {"5601/tcp"}
    assert _host_ports(services["kafka"]) == {"9092/tcp"}
    assert _host_ports(services["collector"]) == {
        "24224/tcp",
        "24224/udp",
        "9880/tcp",
        "4318/tcp",
        "4317/tcp",
        "5514/tcp",
        "5514/udp",
    }
    defaults = Settings()
    assert (defaults.forward_port, defaults.http_port) == (24224, 9880)
    assert (defaults.otlp_http_port, defaults.otlp_grpc_port) == (4318, 4317)
    assert defaults.syslog_port == 5514
    assert defaults.opensearch_url.endswith(":9200")
    assert defaults.kafka_bootstrap.endswith(":9092")
    assert defaults.search_url_base.endswith(":5601")


def test_infrastructure_ports_stay_on_loopback(compose: dict[str, Any]) -> None:
    for name in ("opensearch", "opensearch-dashboards", "kafka"):
        assert all(str(p).startswith("127.0.0.1:") for p in compose["services"][name]["ports"])


def test_every_bitacora_variable_is_a_settings_field(compose: dict[str, Any]) -> None:
    seen = set()
    for service in compose["services"].values():
        for name in service.get("environment", {}) or {}:
            if name.startswith("BITACORA_"):
                seen.add(name)
                field = name.removeprefix("BITACORA_").lower()
                assert field in Settings.model_fields, f"{name} is not a Settings field"
    assert {"BITACORA_KAFKA_BOOTSTRAP", "BITACORA_OPENSEARCH_URL", "BITACORA_BIND_HOST"} <= seen


def test_pipeline_services_reach_the_stack_and_run_the_cli(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, command in (
        ("setup", ["bitacora", "setup"]),
        ("collector", ["bitacora", "collector"]),
        ("processor", ["bitacora", "processor"]),
    ):
        service = services[name]
        assert service["command"] == command
        assert service["build"] == "."
        env = service["environment"]
        assert env["BITACORA_KAFKA_BOOTSTRAP"] == "kafka:19092"
        assert env["BITACORA_OPENSEARCH_URL"] == "http://opensearch:9200"
    assert services["collector"]["environment"]["BITACORA_BIND_HOST"] == "0.0.0.0"
    assert services["setup"]["restart"] == "no"
    for name in ("collector", "processor"):
        assert services[name]["depends_on"] == {
            "setup": {"condition": "service_completed_successfully"}
        }


def test_security_is_off_like_the_local_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["opensearch"]["environment"]["DISABLE_SECURITY_PLUGIN"] == "true"
    assert services["opensearch"]["environment"]["DISABLE_INSTALL_DEMO_CONFIG"] == "true"
    dashboards = services["opensearch-dashboards"]["environment"]
    assert dashboards["DISABLE_SECURITY_DASHBOARDS_PLUGIN"] == "true"


def test_image_versions_match_the_settings_defaults(compose: dict[str, Any]) -> None:
    defaults = Settings.model_fields
    opensearch_version = defaults["opensearch_version"].default
    kafka_version = defaults["kafka_version"].default
    services = compose["services"]
    assert services["opensearch"]["image"] == f"opensearchproject/opensearch:{opensearch_version}"
    assert services["opensearch-dashboards"]["image"] == (
        f"opensearchproject/opensearch-dashboards:{opensearch_version}"
    )
    assert services["kafka"]["image"] == f"apache/kafka:{kafka_version}"


def test_dockerfile_installs_the_project() -> None:
    dockerfile = (COMPOSE.parent / "Dockerfile").read_text()
    assert "\nFROM python:3.11-slim\n" in dockerfile
    assert "RUN pip wheel --no-cache-dir --no-deps -w /wheels ." in dockerfile
    assert "RUN pip install -c constraints.txt /wheels/bitacora-*.whl" in dockerfile
