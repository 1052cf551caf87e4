"""The pipeline through Kafka's SASL_SSL listener alone, on a Kafka of this test's own.

``bitacora stack``'s Kafka is started here with its own state directory and ports (the
shared stack keeps running untouched): it opens the SASL_SSL listener with the SCRAM users
it formats its storage with, and the SSL listener that requires a client certificate, both
signed by the CA it generates. Collector → normalize → index → OpenSearch and the alerting
role (faust, with broker credentials) run with ``bitacora stack env --secure``'s variables;
a wrong password or an untrusted CA stops a component at start with one line.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import SecretStr

from bench import services
from bench.procs import Component, free_port, wait_port
from bitacora import clients
from bitacora.errors import ConnectionRefusedByPeer
from bitacora.processors.storage.setup import SetupReport, setup_topics
from bitacora.settings import Settings
from bitacora.stack import config, secure
from bitacora.stack import services as stack_services
from bitacora.stack.config import KAFKA_PORT_OFFSETS
from tests.integration.rules.receivers import http_receiver
from tests.reliability.harness import LOG_DIR, wait_until

pytestmark = pytest.mark.stack

RULE = """\
name: secure-burst-{rid}
type: frequency
query_key: service.name
num_events: 3
timeframe:
  minutes: 5
filter:
  - term:
      log.level: error
  - query:
      query_string:
        query: 'service.name:"{service}"'
alert: post
http_post_url: "{url}/hook"
"""


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A second local Kafka (own state dir and ports); stopped and removed afterwards."""
    base = free_port(KAFKA_PORT_OFFSETS)
    settings = Settings(
        state_dir=tmp_path_factory.mktemp("secure-stack"),
        kafka_bootstrap=f"127.0.0.1:{base}",
        kafka_heap="512m",
    )
    stack_services.start_service(settings, "kafka")
    try:
        yield settings
    finally:
        stack_services.stop_service(settings, "kafka")


def _secure_env(kafka: Settings) -> dict[str, str]:
    """``bitacora stack env --secure`` of the test's Kafka, parsed."""
    line = subprocess.run(
        [sys.executable, "-m", "bitacora", "stack", "env", "--secure"],
        env={
            **os.environ,
            "BITACORA_STATE_DIR": str(kafka.state_dir),
            "BITACORA_KAFKA_BOOTSTRAP": kafka.kafka_bootstrap,
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert line.startswith("export ")
    return dict(item.split("=", 1) for item in shlex.split(line.removeprefix("export ")))


def _settings(env: dict[str, str]) -> Settings:
    return Settings(
        kafka_bootstrap=env["BITACORA_KAFKA_BOOTSTRAP"],
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username=env["BITACORA_KAFKA_SASL_USERNAME"],
        kafka_sasl_password=SecretStr(env["BITACORA_KAFKA_SASL_PASSWORD"]),
        kafka_ssl_cafile=Path(env["BITACORA_KAFKA_SSL_CAFILE"]),
    )


def test_starting_again_is_a_no_op_that_keeps_the_material(kafka: Settings) -> None:
    layout = config.layout_for(kafka)
    material = secure.material_for(layout.service_dir("kafka"))
    before = (layout.pid_file("kafka").read_text(), material.ca.cert.read_bytes())
    lines: list[str] = []
    stack_services.start_service(kafka, "kafka", lines.append)
    assert lines == [f"kafka already running (pid {before[0].strip()})"]
    assert (layout.pid_file("kafka").read_text(), material.ca.cert.read_bytes()) == before


def test_stack_env_secure_names_the_sasl_ssl_listener(kafka: Settings) -> None:
    env = _secure_env(kafka)
    ports = config.ports_for(kafka)
    material = secure.material_for(config.layout_for(kafka).service_dir("kafka"))
    assert env == {
        "BITACORA_OPENSEARCH_URL": kafka.opensearch_url,
        "BITACORA_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports.kafka_sasl_ssl}",
        "BITACORA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "BITACORA_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "BITACORA_KAFKA_SASL_USERNAME": "bitacora",
        "BITACORA_KAFKA_SASL_PASSWORD": material.password(),
        "BITACORA_KAFKA_SSL_CAFILE": str(material.ca.cert),
    }


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
async def test_every_sasl_mechanism_round_trips_a_record(kafka: Settings, mechanism: str) -> None:
    settings = _settings(_secure_env(kafka)).model_copy(update={"kafka_sasl_mechanism": mechanism})
    topic = f"secure-{mechanism.lower()}-{services.run_id()}"
    producer = clients.kafka_producer(settings, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"k")
    finally:
        await producer.stop()
    consumer = clients.kafka_consumer(settings, topic, auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"k", b"hello")


async def test_the_ssl_listener_takes_a_client_certificate_and_refuses_none(
    kafka: Settings,
) -> None:
    material = secure.material_for(config.layout_for(kafka).service_dir("kafka"))
    mtls = Settings(
        kafka_bootstrap=f"127.0.0.1:{config.ports_for(kafka).kafka_ssl}",
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=material.ca.cert,
        kafka_ssl_certfile=material.client.cert,
        kafka_ssl_keyfile=material.client.key,
    )
    await clients.kafka_preflight(mtls)
    admin = clients.kafka_admin(mtls)
    await admin.start()
    try:
        assert isinstance(await admin.list_topics(), list)
    finally:
        await admin.close()
    without = mtls.model_copy(update={"kafka_ssl_certfile": None, "kafka_ssl_keyfile": None})
    with pytest.raises(KafkaConnectionError, match="is not reachable"):
        await clients.kafka_preflight(without, timeout_s=5)


async def test_wrong_password_and_untrusted_ca_are_refused_with_the_reason(
    kafka: Settings,
) -> None:
    settings = _settings(_secure_env(kafka))
    wrong = settings.model_copy(update={"kafka_sasl_password": SecretStr("not-it")})
    with pytest.raises(ConnectionRefusedByPeer, match="refused the credentials of user 'bitacora'"):
        await clients.kafka_preflight(wrong)
    untrusted = settings.model_copy(update={"kafka_ssl_cafile": None})
    with pytest.raises(ConnectionRefusedByPeer, match="TLS certificate is not trusted"):
        await clients.kafka_preflight(untrusted)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"BITACORA_KAFKA_SASL_PASSWORD": "not-it"}, "refused the credentials of user 'bitacora'"),
        ({"BITACORA_KAFKA_SSL_CAFILE": None}, "its TLS certificate is not trusted"),
    ],
)
@pytest.mark.parametrize("command", [["collector"], ["processor", "--role", "normalize"]])
def test_a_component_with_bad_credentials_stops_at_start_with_one_line(
    kafka: Settings, change: dict[str, str | None], expected: str, command: list[str]
) -> None:
    env = {**os.environ, **_secure_env(kafka)}
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value
    env["BITACORA_HTTP_PORT"] = str(free_port())
    env["BITACORA_FORWARD_PORT"] = str(free_port())
    env["BITACORA_PROCESSOR_DATA_DIR"] = str(kafka.state_dir / "faust")
    result = subprocess.run(
        [sys.executable, "-m", "bitacora", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: Kafka at 127.0.0.1:"), lines[0]
    assert expected in lines[0]


async def test_the_whole_pipeline_runs_through_the_sasl_ssl_listener(
    kafka: Settings, tmp_path: Path
) -> None:
    secure_env = _secure_env(kafka)
    settings = _settings(secure_env)
    rid = services.run_id()
    prefix = f"sec{rid}"
    service = f"{prefix}-checkout"
    env = {
        **services.isolated_env(
            rid, Settings(), forward=free_port(), http=free_port(), web=free_port()
        ),
        **secure_env,
        "BITACORA_APP_ID": f"sec-{rid}",
        "BITACORA_PROCESSOR_DATA_DIR": str(tmp_path / "faust"),
        "BITACORA_BULK_MAX_WAIT_S": "0.2",
        "BITACORA_RULES_DIR": str(tmp_path / "rules"),
    }
    topics = settings.model_copy(
        update={
            "app_id": env["BITACORA_APP_ID"],
            "topic_raw": env["BITACORA_TOPIC_RAW"],
            "topic_normalized": env["BITACORA_TOPIC_NORMALIZED"],
            "topic_deadletter": env["BITACORA_TOPIC_DEADLETTER"],
            "topic_alerts": env["BITACORA_TOPIC_ALERTS"],
        }
    )
    await setup_topics(topics, SetupReport(), lambda _line: None)
    logs = LOG_DIR / f"secure-{rid}"
    running: list[Component] = []
    async with http_receiver() as receiver, aiohttp.ClientSession() as session:
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "burst.yaml").write_text(
            RULE.format(rid=rid, service=service, url=receiver.url)
        )
        try:
            processor = Component(
                "processor",
                ["processor", "--role", "normalize", "--role", "index", "--role", "alerting"],
                env,
                logs / "processor.log",
            ).start()
            running.append(processor)
            collector = Component("collector", ["collector"], env, logs / "collector.log").start()
            running.append(collector)
            http_port = int(env["BITACORA_HTTP_PORT"])
            wait_port(http_port, 60, collector.proc)
            events = [
                {"service": service, "level": "error", "message": f"payment failed #{i}"}
                for i in range(5)
            ]
            async with session.post(
                f"http://127.0.0.1:{http_port}/{service}.app",
                data="\n".join(json.dumps(e) for e in events),
                headers={"Content-Type": "application/x-ndjson"},
            ) as response:
                assert response.status in (200, 202), await response.text()
            pattern = f"logs-{prefix}-*"
            opensearch = Settings().opensearch_url

            async def indexed() -> bool:
                await services.os_refresh(session, opensearch, pattern)
                return await services.os_count(session, opensearch, pattern) == len(events)

            await wait_until(indexed, 180, "the events indexed in OpenSearch")
            requests = await receiver.wait_for(1, deadline_s=180)
            assert requests[0].body["service.name"] == service
            for component in running:
                assert component.alive(), component.log_tail()
        finally:
            for component in running:
                component.stop(10)
            await services.os_delete_streams(session, Settings().opensearch_url, f"logs-{prefix}-*")


def _mtls_env(kafka: Settings) -> dict[str, str]:
    """The ``BITACORA_KAFKA_*`` variables of the SSL listener, with the client certificate."""
    material = secure.material_for(config.layout_for(kafka).service_dir("kafka"))
    return {
        "BITACORA_KAFKA_BOOTSTRAP": f"127.0.0.1:{config.ports_for(kafka).kafka_ssl}",
        "BITACORA_KAFKA_SECURITY_PROTOCOL": "SSL",
        "BITACORA_KAFKA_SSL_CAFILE": str(material.ca.cert),
        "BITACORA_KAFKA_SSL_CERTFILE": str(material.client.cert),
        "BITACORA_KAFKA_SSL_KEYFILE": str(material.client.key),
    }


@pytest.mark.timeout(240)
@pytest.mark.parametrize("listener", ["SASL_SSL", "SSL"])
def test_the_kafka_client_benchmark_runs_through_a_secured_listener(
    kafka: Settings, listener: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both clients of ``bench.kafka_client_bench`` (aiokafka and confluent-kafka) connect
    with the ``BITACORA_KAFKA_*`` security settings, and the run deletes what it made."""
    secured = _secure_env(kafka) if listener == "SASL_SSL" else _mtls_env(kafka)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.kafka_client_bench", "--events", "200", "--repeat", "1"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **secured},
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert proc.stdout.startswith("200 records per hop, 1 repetitions"), proc.stdout
    for name, value in secured.items():  # bench.services reads the security from BITACORA_*
        monkeypatch.setenv(name, value)
    bootstrap = secured["BITACORA_KAFKA_BOOTSTRAP"]
    assert asyncio.run(services.wait_kafka_gone(bootstrap, "bench-kc-")) == ([], [])
