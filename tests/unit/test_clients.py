"""bitacora/clients.py: the connection options every Kafka and OpenSearch client gets."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from pydantic import SecretStr

from bitacora import clients
from bitacora.errors import ConfigError
from bitacora.settings import Settings
from bitacora.stack import certs

PLAIN = Settings(kafka_bootstrap="k1:9092,k2:9092", opensearch_url="http://os:9200/")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[certs.Issued, certs.Issued]:
    folder = tmp_path_factory.mktemp("pki")
    ca = certs.make_ca(folder)
    return ca, certs.issue(ca, folder, "client", hosts=(), client=True)


def _sasl_ssl(ca: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "kafka_bootstrap": "k1:9094",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-256",
        "kafka_sasl_username": "svc",
        "kafka_sasl_password": SecretStr("pw"),
        "kafka_ssl_cafile": ca,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def test_plaintext_kafka_clients_get_the_brokers_only() -> None:
    assert clients.kafka_options(PLAIN) == {
        "bootstrap_servers": "k1:9092,k2:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert clients.faust_broker_options(PLAIN) == {"broker": "kafka://k1:9092,k2:9092"}


def test_sasl_ssl_options_carry_the_mechanism_credentials_and_a_verifying_context(
    pki: tuple[certs.Issued, certs.Issued],
) -> None:
    ca, _ = pki
    options = clients.kafka_options(_sasl_ssl(ca.cert))
    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": "k1:9094",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "svc",
        "sasl_plain_password": "pw",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("organizationName", "Bitácora local stack"),), (("commonName", "Bitácora local CA"),))
    ]


def test_faust_gets_the_same_credentials(pki: tuple[certs.Issued, certs.Issued]) -> None:
    ca, client = pki
    options = clients.faust_broker_options(_sasl_ssl(ca.cert))
    credentials = options["broker_credentials"]
    assert options["broker"] == "kafka://k1:9094"
    assert isinstance(credentials, SASLCredentials)
    assert (credentials.protocol.value, credentials.mechanism.value) == (
        "SASL_SSL",
        "SCRAM-SHA-256",
    )
    assert (credentials.username, credentials.password) == ("svc", "pw")
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    plain_sasl = _sasl_ssl(ca.cert, kafka_security_protocol="SASL_PLAINTEXT", kafka_ssl_cafile=None)
    credentials = clients.faust_broker_options(plain_sasl)["broker_credentials"]
    assert (credentials.protocol.value, credentials.ssl_context) == ("SASL_PLAINTEXT", None)
    mtls = Settings(
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=ca.cert,
        kafka_ssl_certfile=client.cert,
        kafka_ssl_keyfile=client.key,
    )
    credentials = clients.faust_broker_options(mtls)["broker_credentials"]
    assert isinstance(credentials, SSLCredentials)
    assert credentials.protocol.value == "SSL"


def test_hostname_verification_can_be_turned_off_alone(
    pki: tuple[certs.Issued, certs.Issued],
) -> None:
    ca, _ = pki
    context = clients.kafka_ssl_context(_sasl_ssl(ca.cert, kafka_ssl_check_hostname=False))
    assert context is not None
    assert (context.check_hostname, context.verify_mode) == (False, ssl.CERT_REQUIRED)


def test_librdkafka_gets_the_same_settings_in_its_keys(
    pki: tuple[certs.Issued, certs.Issued],
) -> None:
    ca, client = pki
    assert clients.librdkafka_config(PLAIN) == {
        "bootstrap.servers": "k1:9092,k2:9092",
        "security.protocol": "PLAINTEXT",
    }
    mtls = Settings(
        kafka_bootstrap="k1:9093",
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=ca.cert,
        kafka_ssl_certfile=client.cert,
        kafka_ssl_keyfile=client.key,
        kafka_ssl_key_password=SecretStr("kp"),
    )
    assert clients.librdkafka_config(mtls) == {
        "bootstrap.servers": "k1:9093",
        "security.protocol": "SSL",
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": str(ca.cert),
        "ssl.certificate.location": str(client.cert),
        "ssl.key.location": str(client.key),
        "ssl.key.password": "kp",
    }
    assert clients.librdkafka_config(_sasl_ssl(ca.cert, kafka_ssl_check_hostname=False)) == {
        "bootstrap.servers": "k1:9094",
        "security.protocol": "SASL_SSL",
        "ssl.endpoint.identification.algorithm": "none",
        "ssl.ca.location": str(ca.cert),
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "svc",
        "sasl.password": "pw",
    }
    plain_sasl = _sasl_ssl(ca.cert, kafka_security_protocol="SASL_PLAINTEXT", kafka_ssl_cafile=None)
    assert clients.librdkafka_config(plain_sasl) == {
        "bootstrap.servers": "k1:9094",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "svc",
        "sasl.password": "pw",
    }


def test_librdkafka_takes_the_key_from_the_certificate_file_without_a_key_file(
    pki: tuple[certs.Issued, certs.Issued],
) -> None:
    _, client = pki
    settings = Settings(
        kafka_bootstrap="k1:9093", kafka_security_protocol="SSL", kafka_ssl_certfile=client.cert
    )
    assert clients.librdkafka_config(settings) == {
        "bootstrap.servers": "k1:9093",
        "security.protocol": "SSL",
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.certificate.location": str(client.cert),
        "ssl.key.location": str(client.cert),
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"kafka_security_protocol": "SASL_SSL"},
            "BITACORA_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs BITACORA_KAFKA_SASL_USERNAME",
        ),
        (
            {"kafka_ssl_cafile": Path("/ca.pem")},
            "BITACORA_KAFKA_SECURITY_PROTOCOL is PLAINTEXT: use SSL or SASL_SSL",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": Path("/k")},
            "BITACORA_KAFKA_SSL_KEYFILE needs BITACORA_KAFKA_SSL_CERTFILE",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_cafile": Path("/nowhere/ca.pem")},
            "BITACORA_KAFKA_SSL CA file /nowhere/ca.pem: cannot load it",
        ),
    ],
)
def test_kafka_settings_that_cannot_work_are_refused_by_name(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        clients.kafka_options(Settings(**changes))  # type: ignore[arg-type]
    if "/nowhere/" not in message:  # librdkafka opens the files itself, when it connects
        with pytest.raises(ConfigError, match=message):
            clients.librdkafka_config(Settings(**changes))  # type: ignore[arg-type]


async def test_call_site_options_reach_the_client() -> None:
    producer = clients.kafka_producer(PLAIN, client_id="bitacora-x", acks="all")
    assert producer.client._bootstrap_servers == "k1:9092,k2:9092"
    assert producer.client._client_id == "bitacora-x"
    await producer.stop()
    consumer = clients.kafka_consumer(PLAIN, group_id="g")
    assert consumer._group_id == "g"
    await consumer.stop()


async def test_the_opensearch_session_carries_the_credentials() -> None:
    settings = PLAIN.model_copy(
        update={"opensearch_user": "ops", "opensearch_password": SecretStr("s3cret")}
    )
    async with clients.opensearch_session(settings, timeout_s=5) as session:
        assert session.headers["Authorization"] == "Basic b3BzOnMzY3JldA=="
        assert session.timeout.total == 5
    async with clients.opensearch_session(PLAIN) as session:
        assert "Authorization" not in session.headers
    assert clients.opensearch_url(PLAIN) == "http://os:9200"


def test_opensearch_tls_context_only_for_https(pki: tuple[certs.Issued, certs.Issued]) -> None:
    ca, client = pki
    assert clients.opensearch_ssl_context(PLAIN) is None
    secured = Settings(
        opensearch_url="https://os:9200",
        opensearch_ca_file=ca.cert,
        opensearch_client_cert_file=client.cert,
        opensearch_client_key_file=client.key,
    )
    context = clients.opensearch_ssl_context(secured)
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    unverified = secured.model_copy(update={"opensearch_verify_certs": False})
    context = clients.opensearch_ssl_context(unverified)
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)
    wrong_key = secured.model_copy(update={"opensearch_client_key_file": ca.key})
    with pytest.raises(ConfigError, match="BITACORA_OPENSEARCH client certificate"):
        clients.opensearch_ssl_context(wrong_key)


def test_sigv4_needs_credentials_and_excludes_basic_auth(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws = Settings(opensearch_url="https://search.example:443", opensearch_aws_region="eu-west-1")
    with pytest.raises(ConfigError, match="no AWS credentials were found"):
        clients.opensearch_client(aws)
    both = aws.model_copy(update={"opensearch_user": "ops"})
    with pytest.raises(ConfigError, match="exclude each other"):
        clients.opensearch_client(both)
