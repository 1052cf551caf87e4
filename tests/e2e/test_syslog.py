"""Real syslog senders through the whole pipeline: util-linux ``logger`` (RFC 5424 and
RFC 3164, UDP and TCP, LF framing and octet counting) and Debian's ``rsyslog`` forwarding
with octet counting over TCP and over TLS; exact field values in OpenSearch."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench import services
from bench.procs import free_port
from tests.reliability.harness import Pipeline, all_docs, read_topic, wait_until

DEADLINE_S = 90
HOST = socket.gethostname()


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        raise AssertionError(f"{name} is needed: scripts/system-deps --tests installs it")
    return path


def _logger(port: int, *args: str) -> None:
    subprocess.run(
        [_tool("logger"), "--server", "127.0.0.1", "--port", str(port), *args],
        check=True,
        capture_output=True,
        timeout=30,
    )


async def _docs(pipeline: Pipeline, pattern: str, count: int) -> list[dict[str, Any]]:
    url = pipeline.settings.opensearch_url
    async with aiohttp.ClientSession() as session:

        async def enough() -> bool:
            await services.os_refresh(session, url, pattern)
            return await services.os_count(session, url, pattern) >= count

        await wait_until(enough, DEADLINE_S, f"{count} documents in {pattern}")
        docs = await all_docs(session, url, pattern)
    for doc in docs:
        assert len(doc.pop("event.id")) == 32
        assert doc.pop("event.ingested").endswith("Z")
    return sorted(docs, key=lambda d: d["message"])


def _recent(stamp: str, within_s: float = 600) -> bool:
    when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return abs(time.time() - when.timestamp()) < within_s


async def test_logger_rfc5424_and_rfc3164_over_udp_and_tcp(pipeline: Pipeline) -> None:
    pipeline.start_collector()
    pipeline.start_processor()
    app = f"{pipeline.prefix}-orders"
    port = pipeline.syslog_port
    sd = ["--sd-id", "order@32473", "--sd-param", 'id="A-42"', "--sd-param", 'items="3"']
    _logger(port, "--udp", "--rfc5424", "-t", app, "-p", "local0.err", "--msgid", "ORD", *sd,
            "--id=4242", "a 5424 udp: payment failed")  # fmt: skip
    _logger(port, "--tcp", "--rfc5424", "-t", app, "-p", "daemon.warning", "b 5424 tcp lf")
    _logger(port, "--tcp", "--octet-count", "--rfc3164", "-t", app, "-p", "user.info",
            "--id=77", "c 3164 tcp octet")  # fmt: skip
    _logger(port, "--udp", "--rfc3164", "-t", app, "-p", "local7.debug", "d 3164 udp")

    docs = await _docs(pipeline, f"logs-{app}", 4)
    stamps = [doc.pop("@timestamp") for doc in docs]
    assert all(_recent(stamp) for stamp in stamps), stamps
    synced = [doc["labels"]["timeQuality"].pop("isSynced") for doc in docs[:2]]
    assert set(synced) <= {"0", "1"}  # whether this machine's clock is NTP-synced
    assert docs == [
        {
            "event.dataset": "syslog",
            "event.severity": 17,
            "message": "a 5424 udp: payment failed",
            "log.level": "error",
            "service.name": app,
            "host.name": HOST,
            "log.syslog.facility": "local0",
            "log.syslog.severity": "err",
            "labels": {
                "syslog": {"procid": "4242", "msgid": "ORD"},
                "timeQuality": {"tzKnown": "1"},  # logger's own SD element
                "order@32473": {"id": "A-42", "items": "3"},
            },
        },
        {
            "event.dataset": "syslog",
            "event.severity": 13,
            "message": "b 5424 tcp lf",
            "log.level": "warn",
            "service.name": app,
            "host.name": HOST,
            "log.syslog.facility": "daemon",
            "log.syslog.severity": "warning",
            "labels": {"timeQuality": {"tzKnown": "1"}},
        },
        {
            "event.dataset": "syslog",
            "event.severity": 9,
            "message": "c 3164 tcp octet",
            "log.level": "info",
            "service.name": app,
            "host.name": HOST,
            "log.syslog.facility": "user",
            "log.syslog.severity": "info",
            "labels": {"syslog": {"procid": "77"}},
        },
        {
            "event.dataset": "syslog",
            "event.severity": 5,
            "message": "d 3164 udp",
            "log.level": "debug",
            "service.name": app,
            "host.name": HOST,
            "log.syslog.facility": "local7",
            "log.syslog.severity": "debug",
        },
    ]


async def test_bad_lines_are_dead_lettered_and_the_connection_kept(pipeline: Pipeline) -> None:
    pipeline.start_collector()
    pipeline.start_processor()
    app = f"{pipeline.prefix}-db"
    postgres = (
        f"<131>1 2026-12-05T10:00:00.250Z db-1 {app} 4242 - - [7-1] 2026-12-05 10:00:00.250 UTC"
        ' [4242] ERROR:  duplicate key value violates unique constraint "orders_pkey"'
    )
    mongo_json = {
        "t": {"$date": "2026-12-05T10:00:01.500+00:00"},
        "s": "W",
        "c": "NETWORK",
        "id": 22943,
        "ctx": "listener",
        "msg": "Connection accepted",
        "attr": {"remote": "10.0.0.9:51234"},
    }
    mongo = f"<30>Dec  5 10:00:01 db-2 {app}[77]: {json.dumps(mongo_json)}"
    frames = [
        f"{len(postgres.encode())} {postgres}".encode(),
        b"this line has no PRI\n",
        f"{mongo}\n".encode(),
    ]
    reader, writer = await asyncio.open_connection("127.0.0.1", pipeline.syslog_port)
    for frame in frames:  # one connection: the bad line between two good ones
        writer.write(frame)
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    del reader

    docs = await _docs(pipeline, f"logs-{app}", 2)
    mongo_doc, postgres_doc = docs
    assert postgres_doc == {
        "@timestamp": "2026-12-05T10:00:00.250000000Z",
        "event.dataset": "syslog",
        "event.severity": 17,
        "message": 'duplicate key value violates unique constraint "orders_pkey"',
        "log.level": "error",
        "log.logger": "postgresql",
        "service.name": app,
        "host.name": "db-1",
        "log.syslog.facility": "local0",
        "log.syslog.severity": "err",
        "labels": {"syslog": {"procid": "4242"}, "postgresql": {"pid": 4242}},
    }
    year = dt.datetime.now(dt.UTC).year
    assert mongo_doc == {
        "@timestamp": f"{year}-12-05T10:00:01.000000000Z",
        "event.dataset": "syslog",
        "event.severity": 13,
        "message": "Connection accepted",
        "log.level": "warn",
        "log.logger": "NETWORK",
        "service.name": app,
        "host.name": "db-2",
        "log.syslog.facility": "daemon",
        "log.syslog.severity": "info",
        "labels": {
            "syslog": {"procid": "77"},
            "mongodb": {"id": 22943, "ctx": "listener", "attr": {"remote": "10.0.0.9:51234"}},
        },
    }
    topic = pipeline.env["BITACORA_TOPIC_DEADLETTER"]

    async def dead_lettered() -> list[dict[str, Any]]:
        letters = [json.loads(v)["deadletter"] for _, v in await read_topic(
            pipeline.settings.kafka_bootstrap, topic)]  # fmt: skip
        return [d for d in letters if d["reason"].startswith("bad_syslog")]

    letters = await wait_until(dead_lettered, DEADLINE_S, "the bad line in the dead letter")
    assert [d["reason"] for d in letters] == ["bad_syslog: no <PRI> at the start of the line"]
    assert letters[0]["stage"] == "normalize"


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for localhost/127.0.0.1: (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bitacora test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


_RSYSLOG_CONF = """
global(workDirectory="{work}" defaultNetstreamDriverCAFile="{ca}" maxMessageSize="64k")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{tcp_in}" ruleset="to_tcp")
input(type="imudp" address="127.0.0.1" port="{tls_in}" ruleset="to_tls")
ruleset(name="to_tcp") {{
  action(type="omfwd" target="127.0.0.1" port="{tcp_out}" protocol="tcp"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}}
ruleset(name="to_tls") {{
  action(type="omfwd" target="127.0.0.1" port="{tls_out}" protocol="tcp"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost")
}}
"""


def _start_rsyslogd(conf: Path, directory: Path) -> subprocess.Popen[bytes]:
    """rsyslogd in the foreground with its own config and pid file (never the system's)."""
    with (directory / "rsyslogd.log").open("wb") as log:
        return subprocess.Popen(
            [_tool("rsyslogd"), "-n", "-f", str(conf), "-i", str(directory / "rsyslogd.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def rsyslog_dir(tmp_path: Path) -> Path:
    """A work directory for one rsyslogd."""
    (tmp_path / "work").mkdir()
    return tmp_path


async def test_rsyslog_forwards_over_tcp_octet_counting_and_tls(
    pipeline: Pipeline, rsyslog_dir: Path
) -> None:
    ca, cert, key = _certificates(rsyslog_dir)
    pipeline.extra_env.update(BITACORA_TLS_CERT_FILE=str(cert), BITACORA_TLS_KEY_FILE=str(key))
    pipeline.start_collector()
    pipeline.start_processor()
    tcp_in, tls_in = free_port(), free_port()
    conf = rsyslog_dir / "rsyslog.conf"
    conf.write_text(
        _RSYSLOG_CONF.format(
            work=rsyslog_dir / "work",
            ca=ca,
            tcp_in=tcp_in,
            tls_in=tls_in,
            tcp_out=pipeline.syslog_port,
            tls_out=pipeline.syslog_tls_port,
        )
    )
    rsyslogd = _start_rsyslogd(conf, rsyslog_dir)
    app = f"{pipeline.prefix}-relay"
    try:
        # rsyslog listens once it logged its start; poll by sending until both arrive.
        sent: dict[str, int] = {}

        async def arrived() -> bool:
            assert rsyslogd.poll() is None, (rsyslog_dir / "rsyslogd.log").read_text()
            for name, port in (("tcp", tcp_in), ("tls", tls_in)):
                sent[name] = sent.get(name, 0) + 1
                _logger(port, "--udp", "--rfc5424", "-t", app, "-p", "local3.notice", "--id=4242",
                        "--msgid", name.upper(), f"via rsyslog {name} {sent[name]}")  # fmt: skip
            url = pipeline.settings.opensearch_url
            async with aiohttp.ClientSession() as session:
                await services.os_refresh(session, url, f"logs-{app}")
                docs = await all_docs(session, url, f"logs-{app}")
            msgids = {d["labels"]["syslog"]["msgid"] for d in docs}
            return msgids == {"TCP", "TLS"}

        await wait_until(arrived, DEADLINE_S, "messages relayed by rsyslog", every_s=1.0)
    finally:
        rsyslogd.terminate()
        rsyslogd.wait(timeout=30)
    url = pipeline.settings.opensearch_url
    async with aiohttp.ClientSession() as session:
        await services.os_refresh(session, url, f"logs-{app}")
        docs = await all_docs(session, url, f"logs-{app}")
    messages = [d["message"] for d in docs]
    by_message = {d.pop("message"): d for d in docs}
    tls = [m for m in sorted(by_message) if m.startswith("via rsyslog tls ")]
    first = by_message[tls[0]]
    del first["event.id"], first["event.ingested"]
    assert _recent(first.pop("@timestamp"))
    assert first["labels"]["timeQuality"].pop("isSynced") in ("0", "1")
    assert first == {
        "event.dataset": "syslog",
        "event.severity": 9,
        "log.level": "info",
        "service.name": app,
        "host.name": HOST,
        "log.syslog.facility": "local3",
        "log.syslog.severity": "notice",
        "labels": {"syslog": {"procid": "4242", "msgid": "TLS"}, "timeQuality": {"tzKnown": "1"}},
    }
    # Every message relayed over either transport is stored exactly once.
    assert len(messages) == len(set(messages))
    assert {m.rsplit(" ", 1)[0] for m in messages} == {"via rsyslog tcp", "via rsyslog tls"}
