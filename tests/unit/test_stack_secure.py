"""The local Kafka's secured listeners: material made once, broker properties, format
arguments, and the variables ``bitacora stack env --secure`` prints."""

from __future__ import annotations

import json
import shlex
import ssl
import stat
from pathlib import Path

import pytest

from bitacora.errors import StackError
from bitacora.settings import Settings
from bitacora.stack import config, secure


def test_material_is_made_once_with_private_keys_and_a_chain_to_the_ca(tmp_path: Path) -> None:
    material = secure.ensure_material(secure.material_for(tmp_path))
    password = material.password()
    first = {p.name: p.read_bytes() for p in material.folder.iterdir()}
    assert sorted(first) == [
        "broker-keystore.pem",
        "broker.key",
        "broker.pem",
        "ca.key",
        "ca.pem",
        "client.key",
        "client.pem",
        "users.json",
    ]
    for name in ("broker-keystore.pem", "broker.key", "ca.key", "client.key", "users.json"):
        assert stat.S_IMODE((material.folder / name).stat().st_mode) == 0o600, name
    assert len(password) >= 32
    secure.ensure_material(material)  # idempotent: nothing regenerated
    assert {p.name: p.read_bytes() for p in material.folder.iterdir()} == first
    # The broker's certificate verifies against the CA for 127.0.0.1 (hostname checked).
    context = ssl.create_default_context(cafile=str(material.ca.cert))
    context.load_cert_chain(material.client.cert, material.client.key)  # key matches
    store = material.key_store.read_text()
    assert store.startswith("-----BEGIN PRIVATE KEY-----")
    assert store.count("-----BEGIN CERTIFICATE-----") == 2


def test_broker_properties_add_both_listeners_to_plaintext(tmp_path: Path) -> None:
    material = secure.ensure_material(secure.material_for(tmp_path))
    ports = config.Ports(1, 2, 19092, 19093)
    extra = secure.server_properties(material, ports.kafka_sasl_ssl, ports.kafka_ssl)
    text = config.kafka_server_properties(ports, Path("/k/data"), extra)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["listeners"] == (
        "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093,"
        "SASL_SSL://127.0.0.1:19094,SSL://127.0.0.1:19095"
    )
    assert props["advertised.listeners"] == (
        "PLAINTEXT://127.0.0.1:19092,SASL_SSL://127.0.0.1:19094,SSL://127.0.0.1:19095"
    )
    assert props["listener.security.protocol.map"] == (
        "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL"
    )
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN"
    assert props["listener.name.sasl_ssl.plain.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'user_bitacora="{material.password()}";'
    )
    assert props["ssl.keystore.type"] == "PEM"
    assert props["ssl.keystore.location"] == str(material.key_store)
    assert props["ssl.truststore.location"] == str(material.ca.cert)
    assert props["listener.name.ssl.ssl.client.auth"] == "required"


def test_format_adds_both_scram_users(tmp_path: Path) -> None:
    material = secure.ensure_material(secure.material_for(tmp_path))
    password = material.password()
    assert secure.format_arguments(material) == [
        "--add-scram",
        f"SCRAM-SHA-256=[name=bitacora,password={password}]",
        "--add-scram",
        f"SCRAM-SHA-512=[name=bitacora,password={password}]",
    ]


def test_secure_exports_need_the_listener_and_say_scram_or_plain(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, kafka_bootstrap="127.0.0.1:19092")
    kafka_dir = config.layout_for(settings).service_dir("kafka")
    with pytest.raises(StackError, match="no SASL_SSL listener yet"):
        secure.secure_exports(settings)
    material = secure.ensure_material(secure.material_for(kafka_dir))
    (kafka_dir / "server.properties").write_text("listeners=SASL_SSL://127.0.0.1:19094\n")
    line = secure.secure_exports(settings)
    variables = dict(i.split("=", 1) for i in shlex.split(line.removeprefix("export ")))
    assert variables["BITACORA_KAFKA_BOOTSTRAP"] == "127.0.0.1:19094"
    assert variables["BITACORA_KAFKA_SASL_MECHANISM"] == "PLAIN"  # formatted before SCRAM
    assert variables["BITACORA_KAFKA_SASL_PASSWORD"] == material.password()
    material.scram_marker.touch()
    line = secure.secure_exports(settings)
    assert "BITACORA_KAFKA_SASL_MECHANISM=SCRAM-SHA-512" in line


def test_missing_users_file_says_to_start_the_stack(tmp_path: Path) -> None:
    material = secure.material_for(tmp_path)
    with pytest.raises(StackError, match="run `bitacora stack up`"):
        material.password()
    material.folder.mkdir()
    material.users_file.write_text(json.dumps({"someone": "x"}))
    with pytest.raises(StackError, match="are missing"):
        material.password()
