"""The one place that builds Kafka and OpenSearch clients from ``Settings``.

Every aiokafka producer, consumer and admin client, the faust app's broker options, the
confluent-kafka configuration (benchmarks, clean-up), every ``opensearchpy.OpenSearch``
client and every aiohttp session that talks to OpenSearch is made here, so where the
services are and how to reach them (TLS, client certificates, SASL, basic auth, AWS
SigV4) is decided once. Call sites pass only what is theirs (acks, idempotence, linger,
group ids, timeouts).

faust is imported only inside :func:`faust_broker_options` (its credential classes): the
collector, which must not load faust, uses the rest of this module.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, KafkaError, SaslAuthenticationFailed

from bitacora.errors import ConfigError, ConnectionRefusedByPeer
from bitacora.kafkacodec import compression_type

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from bitacora.settings import Settings


def tls_context(
    *,
    cafile: Path | None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    key_password: str | None = None,
    verify: bool = True,
    check_hostname: bool = True,
    what: str = "",
) -> ssl.SSLContext:
    """A client TLS context: trust ``cafile`` (else the system CAs), present ``certfile``.

    ``what`` names the settings in errors (``"BITACORA_KAFKA_SSL"``). Raises ConfigError
    when a file cannot be read or the key does not match the certificate.
    """
    try:
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{what} CA file {cafile}: cannot load it ({exc})") from exc
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = check_hostname
    if certfile is not None:
        try:
            context.load_cert_chain(certfile, keyfile, key_password)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"{what} client certificate {certfile} (key {keyfile or 'in the same file'}): "
                f"cannot load it ({exc})"
            ) from exc
    return context


def _path(value: Path | None) -> str | None:
    return None if value is None else str(value)


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def check_settings(settings: Settings) -> None:
    """Refuse connection settings that cannot work together (ConfigError naming them)."""
    protocol = settings.kafka_security_protocol
    if protocol.startswith("SASL_") and not (
        settings.kafka_sasl_username and settings.kafka_sasl_password
    ):
        raise ConfigError(
            f"BITACORA_KAFKA_SECURITY_PROTOCOL={protocol} needs "
            "BITACORA_KAFKA_SASL_USERNAME and BITACORA_KAFKA_SASL_PASSWORD"
        )
    tls_files = (settings.kafka_ssl_cafile, settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    if not protocol.endswith("SSL") and any(tls_files):
        raise ConfigError(
            "BITACORA_KAFKA_SSL_* files are set but BITACORA_KAFKA_SECURITY_PROTOCOL is "
            f"{protocol}: use SSL or SASL_SSL"
        )
    if settings.kafka_ssl_keyfile and not settings.kafka_ssl_certfile:
        raise ConfigError("BITACORA_KAFKA_SSL_KEYFILE needs BITACORA_KAFKA_SSL_CERTFILE")
    if settings.opensearch_client_key_file and not settings.opensearch_client_cert_file:
        raise ConfigError(
            "BITACORA_OPENSEARCH_CLIENT_KEY_FILE needs BITACORA_OPENSEARCH_CLIENT_CERT_FILE"
        )
    if settings.opensearch_aws_region and settings.opensearch_user:
        raise ConfigError(
            "BITACORA_OPENSEARCH_AWS_REGION (SigV4) and BITACORA_OPENSEARCH_USER (basic auth) "
            "exclude each other: set one"
        )


# --- Kafka ----------------------------------------------------------------------------------


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of the Kafka connections; None for PLAINTEXT and SASL_PLAINTEXT."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    return tls_context(
        cafile=settings.kafka_ssl_cafile,
        certfile=settings.kafka_ssl_certfile,
        keyfile=settings.kafka_ssl_keyfile,
        key_password=_secret(settings.kafka_ssl_key_password),
        check_hostname=settings.kafka_ssl_check_hostname,
        what="BITACORA_KAFKA_SSL",
    )


def kafka_options(settings: Settings) -> dict[str, Any]:
    """The connection options every aiokafka client shares (brokers and their security)."""
    check_settings(settings)
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": protocol,
    }
    context = kafka_ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = _secret(settings.kafka_sasl_password)
    return options


def kafka_producer(settings: Settings, **options: Any) -> AIOKafkaProducer:
    """An aiokafka producer compressing as ``kafka_compression`` says; ``options`` are the
    call site's own (acks, linger_ms...)."""
    return AIOKafkaProducer(
        **kafka_options(settings), **{"compression_type": compression_type(settings), **options}
    )


def kafka_consumer(settings: Settings, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """An aiokafka consumer of ``topics`` (none: assign or subscribe later)."""
    return AIOKafkaConsumer(*topics, **kafka_options(settings), **options)


def kafka_admin(settings: Settings, **options: Any) -> AIOKafkaAdminClient:
    """An aiokafka admin client (topics, consumer group offsets)."""
    return AIOKafkaAdminClient(**kafka_options(settings), **options)


def _hosts(bootstrap: str) -> list[tuple[str, int]]:
    hosts = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        hosts.append((host.strip("[]") or item.strip(), int(port) if port.isdigit() else 9092))
    return hosts


def kafka_refusal(settings: Settings, exc: BaseException) -> str | None:
    """The one-line reason when ``exc`` says Kafka refused our credentials or we refused its
    certificate (fatal: a retry cannot help); None for other failures (Kafka down...)."""
    where = f"Kafka at {settings.kafka_bootstrap} ({settings.kafka_security_protocol})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"{where}: its TLS certificate is not trusted ({exc.verify_message}): set "
            "BITACORA_KAFKA_SSL_CAFILE to the CA that signed it"
        )
    if isinstance(exc, ssl.SSLError):
        return f"{where}: TLS handshake failed ({exc.reason}): check BITACORA_KAFKA_SSL_*"
    if isinstance(exc, SaslAuthenticationFailed):
        return (
            f"{where} refused the credentials of user {settings.kafka_sasl_username!r} with "
            f"{settings.kafka_sasl_mechanism}: check BITACORA_KAFKA_SASL_USERNAME, "
            "BITACORA_KAFKA_SASL_PASSWORD and BITACORA_KAFKA_SASL_MECHANISM"
        )
    return None


async def kafka_preflight(settings: Settings, timeout_s: float = 10.0) -> None:
    """Open one connection to a broker with the configured security, then close it.

    aiokafka logs why a bootstrap failed and raises a generic error; this says why.
    Raises ConnectionRefusedByPeer for refused credentials or an untrusted certificate,
    KafkaConnectionError (with the reason) when no broker answers.
    """
    options = kafka_options(settings)
    del options["bootstrap_servers"]
    last: BaseException | None = None
    for host, port in _hosts(settings.kafka_bootstrap):
        try:
            conn = await asyncio.wait_for(
                create_conn(host, port, request_timeout_ms=int(timeout_s * 1000), **options),
                timeout_s,
            )
        except (OSError, KafkaError, TimeoutError) as exc:
            reason = kafka_refusal(settings, exc)
            if reason is not None:
                raise ConnectionRefusedByPeer(reason) from exc
            last = exc
            continue
        conn.close()
        return
    raise KafkaConnectionError(
        f"Kafka at {settings.kafka_bootstrap} is not reachable ({type(last).__name__}: {last})"
    ) from last


def faust_broker_options(settings: Settings) -> dict[str, Any]:
    """The ``faust.App`` keyword arguments that say where the brokers are and how to connect."""
    check_settings(settings)
    options: dict[str, Any] = {"broker": f"kafka://{settings.kafka_bootstrap}"}
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return options
    from faust.auth import SASLCredentials, SSLCredentials

    context = kafka_ssl_context(settings)
    if protocol == "SSL":
        options["broker_credentials"] = SSLCredentials(context)
    else:  # SASL_PLAINTEXT, SASL_SSL (the context is what makes faust pick SASL_SSL)
        options["broker_credentials"] = SASLCredentials(
            username=settings.kafka_sasl_username,
            password=_secret(settings.kafka_sasl_password),
            ssl_context=context,
            mechanism=settings.kafka_sasl_mechanism,
        )
    return options


def librdkafka_config(settings: Settings) -> dict[str, Any]:
    """:func:`kafka_options` in librdkafka's configuration keys (confluent-kafka clients).

    Without ``kafka_ssl_cafile`` librdkafka trusts the system's CAs; a certificate without
    a key file holds its key, as for aiokafka.
    """
    check_settings(settings)
    protocol = settings.kafka_security_protocol
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "security.protocol": protocol,
    }
    if protocol.endswith("SSL"):
        check = settings.kafka_ssl_check_hostname
        config["ssl.endpoint.identification.algorithm"] = "https" if check else "none"
        files = {
            "ssl.ca.location": settings.kafka_ssl_cafile,
            "ssl.certificate.location": settings.kafka_ssl_certfile,
            "ssl.key.location": settings.kafka_ssl_keyfile or settings.kafka_ssl_certfile,
        }
        config.update({key: str(path) for key, path in files.items() if path is not None})
        if settings.kafka_ssl_key_password is not None:
            config["ssl.key.password"] = _secret(settings.kafka_ssl_key_password)
    if protocol.startswith("SASL_"):
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username
        config["sasl.password"] = _secret(settings.kafka_sasl_password)
    return config


# --- OpenSearch -----------------------------------------------------------------------------


def opensearch_url(settings: Settings) -> str:
    """The OpenSearch base URL, without a trailing slash."""
    return settings.opensearch_url.rstrip("/")


def opensearch_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for an ``https://`` OpenSearch URL; None for plain http."""
    check_settings(settings)
    if not settings.opensearch_url.lower().startswith("https://"):
        return None
    return tls_context(
        cafile=settings.opensearch_ca_file,
        certfile=settings.opensearch_client_cert_file,
        keyfile=settings.opensearch_client_key_file,
        verify=settings.opensearch_verify_certs,
        check_hostname=settings.opensearch_check_hostname,
        what="BITACORA_OPENSEARCH",
    )


def _basic_auth(settings: Settings) -> tuple[str, str] | None:
    if settings.opensearch_user is None:
        return None
    return settings.opensearch_user, _secret(settings.opensearch_password) or ""


def _aws_signer(settings: Settings) -> Any:
    """opensearch-py's SigV4 signer with the default AWS credential chain ([aws] extra)."""
    try:
        import boto3
    except ImportError as exc:
        raise ConfigError(
            "BITACORA_OPENSEARCH_AWS_REGION is set but boto3 is missing: "
            "pip install 'bitacora[aws]'"
        ) from exc
    from opensearchpy.helpers.signer import AWSV4Signer

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise ConfigError(
            "BITACORA_OPENSEARCH_AWS_REGION is set but no AWS credentials were found "
            "(environment, shared config or instance role)"
        )
    return AWSV4Signer(
        credentials, settings.opensearch_aws_region or "", settings.opensearch_aws_service
    )


def opensearch_client(settings: Settings, *, timeout: float = 30.0, **options: Any) -> OpenSearch:
    """A synchronous opensearch-py client (credentials never logged)."""
    from opensearchpy import OpenSearch

    check_settings(settings)
    auth: Any = _basic_auth(settings)
    if settings.opensearch_aws_region:
        signer = _aws_signer(settings)
        auth = signer.sign  # opensearch-py calls it per request for the signed headers
    context = opensearch_ssl_context(settings)  # https: the files load, or ConfigError
    if context is not None and not settings.opensearch_verify_certs:
        options.update(ssl_context=context)
    elif context is not None:
        # With an ssl_context, opensearch-py cannot tell urllib3 to skip its own hostname
        # check; without one, it sends a client certificate only when verifying: hence the
        # files here and the context above.
        options.update(
            verify_certs=True,
            ca_certs=_path(settings.opensearch_ca_file),
            client_cert=_path(settings.opensearch_client_cert_file),
            client_key=_path(settings.opensearch_client_key_file),
            ssl_assert_hostname=None if settings.opensearch_check_hostname else False,
        )
    return OpenSearch(hosts=[settings.opensearch_url], http_auth=auth, timeout=timeout, **options)


def _basic_header(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


Handler = Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]


def _sigv4_middleware(signer: Any) -> Callable[..., Awaitable[aiohttp.ClientResponse]]:
    async def sign(request: aiohttp.ClientRequest, handler: Handler) -> aiohttp.ClientResponse:
        payload = request.body
        body = payload if isinstance(payload, bytes) else await payload.as_bytes()
        headers = {"Host": request.url.host or ""}
        if "Content-Type" in request.headers:
            headers["Content-Type"] = request.headers["Content-Type"]
        for name, value in signer.sign(request.method, str(request.url), body, headers).items():
            request.headers[name] = value
        return await handler(request)

    return sign


def opensearch_session(
    settings: Settings, *, timeout_s: float | None = 60.0, limit: int = 100
) -> aiohttp.ClientSession:
    """An aiohttp session for OpenSearch's REST API (auth and TLS from the settings).

    Requests take paths under :func:`opensearch_url`; ``limit`` caps open connections.
    Create it inside the running event loop.
    """
    check_settings(settings)
    auth = _basic_auth(settings)
    headers = {"Authorization": _basic_header(*auth)} if auth else None
    middlewares = (
        (_sigv4_middleware(_aws_signer(settings)),) if settings.opensearch_aws_region else ()
    )
    context = opensearch_ssl_context(settings)
    return aiohttp.ClientSession(
        headers=headers,
        middlewares=middlewares,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        connector=aiohttp.TCPConnector(limit=limit, ssl=context if context else True),
    )
