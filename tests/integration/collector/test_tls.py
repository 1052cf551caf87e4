"""Forward over TLS with client certificates (certificates made by the openssl CLI)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest

from bitacora.collector.forward import encode
from bitacora.settings import Settings
from tests.integration.collector.helpers import read_raw

T = 1_700_000_000


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    if shutil.which("openssl") is None:
        raise AssertionError("the openssl command is needed to make test certificates")
    folder = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=bitacora-test-ca", cwd=folder)  # fmt: skip
    for name in ("server", "client"):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=folder)  # fmt: skip
        (folder / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                 "-extfile", f"{name}.ext", cwd=folder)  # fmt: skip
    return folder


def client_context(certs: Path, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    if with_cert:
        context.load_cert_chain(certs / "client.crt", certs / "client.key")
    return context


async def _refused(port: int, context: ssl.SSLContext | None) -> bool:
    """True when the server ends the connection without ever sending an ack."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        writer.write(encode.message("tls", T, {"refused": True}, {"chunk": "no"}))
        async with asyncio.timeout(10):
            data = await reader.read()
    except (ssl.SSLError, ConnectionError):
        return True
    return data == b""


async def test_tls_with_client_certificates(
    certs: Path,
    make_settings: Callable[..., Settings],
    start_collector: Callable[[Settings], Any],
    kafka_bootstrap: str,
    topics: tuple[str, str],
) -> None:
    collector = await start_collector(
        make_settings(
            tls_cert_file=certs / "server.crt",
            tls_key_file=certs / "server.key",
            tls_client_ca_file=certs / "ca.crt",
        )
    )
    port = collector.forward_port
    assert await _refused(port, None)  # plaintext to the TLS port
    assert await _refused(port, client_context(certs, with_cert=False))
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client_context(certs, with_cert=True)
    )
    writer.write(encode.message("tls", T, {"secure": True}, {"chunk": "tls-1"}))
    async with asyncio.timeout(20):
        assert msgpack.unpackb(await reader.read(1024)) == {"ack": "tls-1"}
    writer.close()
    raws = await read_raw(kafka_bootstrap, topics[0], 1)
    assert [(r.tag, r.record) for r in raws] == [("tls", {"secure": True})]
