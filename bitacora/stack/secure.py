"""The local Kafka's secured listeners: SASL_SSL (SCRAM and PLAIN users) and SSL with
client certificates, on the broker port + 2 and + 3, with a CA the stack generates.

The files live in ``<state>/kafka/secure`` and are made once (``ensure_material``);
``bitacora stack env --secure`` prints the variables that reach the SASL_SSL listener.
SCRAM users can only be added when the KRaft storage is formatted (``--add-scram``): data
formatted before this listener existed has PLAIN users only, and says so
(``scram_ready``).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

from bitacora.errors import StackError
from bitacora.settings import Settings
from bitacora.stack import certs, config

USER = "bitacora"
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
SASL_MECHANISMS = (*SCRAM_MECHANISMS, "PLAIN")


@dataclass(frozen=True)
class Material:
    """The secure listeners' files under ``folder``."""

    folder: Path

    @property
    def ca(self) -> certs.Issued:
        return certs.Issued(self.folder / "ca.pem", self.folder / "ca.key")

    @property
    def broker(self) -> certs.Issued:
        return certs.Issued(self.folder / "broker.pem", self.folder / "broker.key")

    @property
    def client(self) -> certs.Issued:
        """A client certificate the SSL listener accepts (mTLS)."""
        return certs.Issued(self.folder / "client.pem", self.folder / "client.key")

    @property
    def key_store(self) -> Path:
        return self.folder / "broker-keystore.pem"

    @property
    def users_file(self) -> Path:
        return self.folder / "users.json"

    @property
    def scram_marker(self) -> Path:
        """Present when the KRaft storage was formatted with the SCRAM users."""
        return self.folder / "scram-users-formatted"

    def password(self) -> str:
        """The password of :data:`USER` (the same for SCRAM and PLAIN)."""
        try:
            return str(json.loads(self.users_file.read_text())[USER])
        except (OSError, ValueError, KeyError) as exc:
            raise StackError(
                f"the secure Kafka listener's users ({self.users_file}) are missing: "
                "run `bitacora stack up`"
            ) from exc

    def scram_ready(self) -> bool:
        """True when the SCRAM users exist (the storage was formatted with them)."""
        return self.scram_marker.is_file()


def material_for(kafka_dir: Path) -> Material:
    """The secure material of the Kafka whose state directory is ``kafka_dir``."""
    return Material(kafka_dir / "secure")


def ensure_material(material: Material) -> Material:
    """Create the CA, the broker and client certificates and the user's password once."""
    folder = material.folder
    folder.mkdir(parents=True, exist_ok=True)
    if not material.users_file.is_file():
        fd = os.open(material.users_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({USER: secrets.token_urlsafe(24)}, handle)
    if not (material.ca.cert.is_file() and material.ca.key.is_file()):
        certs.make_ca(folder)
        for stale in (material.broker.cert, material.client.cert, material.key_store):
            stale.unlink(missing_ok=True)
    if not material.broker.cert.is_file():
        broker = certs.issue(material.ca, folder, "broker", hosts=("localhost", "127.0.0.1"))
        certs.key_store(broker, material.key_store)
    if not material.client.cert.is_file():
        certs.issue(material.ca, folder, "client", hosts=(), client=True)
    return material


def server_properties(material: Material, sasl_port: int, ssl_port: int) -> dict[str, str]:
    """The broker properties that add the SASL_SSL and SSL (client certificate) listeners.

    The caller merges them with the PLAINTEXT and CONTROLLER listeners.
    """
    password = material.password()
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'user_{USER}="{password}";'
    )
    return {
        "listeners": f"SASL_SSL://127.0.0.1:{sasl_port},SSL://127.0.0.1:{ssl_port}",
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{sasl_port},SSL://127.0.0.1:{ssl_port}",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,SSL:SSL",
        "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
        "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": scram,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram,
        "listener.name.sasl_ssl.plain.sasl.jaas.config": plain,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(material.key_store),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(material.ca.cert),
        "listener.name.ssl.ssl.client.auth": "required",
    }


def format_arguments(material: Material) -> list[str]:
    """``kafka-storage format`` arguments that create the SCRAM users."""
    password = material.password()
    args = []
    for mechanism in SCRAM_MECHANISMS:
        args += ["--add-scram", f"{mechanism}=[name={USER},password={password}]"]
    return args


def secure_exports(settings: Settings) -> str:
    """The line ``bitacora stack env --secure`` prints: every client through SASL_SSL alone.

    StackError when the stack has not made its secure listener yet (start it once).
    """
    ports = config.ports_for(settings)
    kafka_dir = config.layout_for(settings).service_dir("kafka")
    properties = kafka_dir / "server.properties"
    if not properties.is_file() or "SASL_SSL://" not in properties.read_text():
        raise StackError(
            "the local Kafka has no SASL_SSL listener yet (it was started before it "
            "existed): restart it with `bitacora stack down --only kafka` then "
            "`bitacora stack up`"
        )
    material = material_for(kafka_dir)
    variables = env_variables(material, ports.kafka_sasl_ssl, settings.opensearch_url)
    return "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())


def env_variables(material: Material, sasl_port: int, opensearch_url: str) -> dict[str, str]:
    """The ``BITACORA_*`` variables that reach Kafka through the SASL_SSL listener alone."""
    mechanism = "SCRAM-SHA-512" if material.scram_ready() else "PLAIN"
    return {
        "BITACORA_OPENSEARCH_URL": opensearch_url,
        "BITACORA_KAFKA_BOOTSTRAP": f"127.0.0.1:{sasl_port}",
        "BITACORA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "BITACORA_KAFKA_SASL_MECHANISM": mechanism,
        "BITACORA_KAFKA_SASL_USERNAME": USER,
        "BITACORA_KAFKA_SASL_PASSWORD": material.password(),
        "BITACORA_KAFKA_SSL_CAFILE": str(material.ca.cert),
    }
