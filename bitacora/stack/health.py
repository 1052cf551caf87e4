"""Is a service up? Small synchronous probes, safe to call with or without an event loop.

Kafka: a raw ``ApiVersions`` request (the first thing every client sends); the broker only
answers once it has joined the KRaft quorum and serves requests. OpenSearch: cluster health.
"""

from __future__ import annotations

import json
import socket
import struct
import urllib.error
import urllib.request
from typing import Any

API_VERSIONS_KEY = 18
METADATA_KEY = 3
UNSUPPORTED_VERSION = 35


def encode_api_versions_request(correlation_id: int, client_id: str = "bitacora-stack") -> bytes:
    """A size-prefixed ApiVersions v0 request (header v1, empty body)."""
    client = client_id.encode()
    header = struct.pack(">hhih", API_VERSIONS_KEY, 0, correlation_id, len(client)) + client
    return struct.pack(">i", len(header)) + header


def parse_api_versions_response(payload: bytes) -> tuple[int, int, dict[int, tuple[int, int]]]:
    """(correlation id, error code, {api key: (min, max)}) from an ApiVersions v0 response
    without its size prefix."""
    correlation_id, error_code, count = struct.unpack_from(">ihi", payload, 0)
    apis: dict[int, tuple[int, int]] = {}
    offset = 10
    for _ in range(max(count, 0)):
        key, low, high = struct.unpack_from(">hhh", payload, offset)
        apis[key] = (low, high)
        offset += 6
    return correlation_id, error_code, apis


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)


def kafka_api_versions(host: str, port: int, timeout_s: float = 2.0) -> dict[int, tuple[int, int]]:
    """The broker's supported API versions; raises OSError/ValueError when it does not answer."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(encode_api_versions_request(7))
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        correlation_id, error, apis = parse_api_versions_response(_recv_exact(sock, size))
    if correlation_id != 7 or error not in (0, UNSUPPORTED_VERSION):
        raise ValueError(f"unexpected ApiVersions answer (correlation {correlation_id}, {error})")
    return apis


def kafka_healthy(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """True when a Kafka broker answers ApiVersions and offers Metadata on host:port."""
    try:
        return METADATA_KEY in kafka_api_versions(host, port, timeout_s)
    except (OSError, ValueError, struct.error):
        return False


def http_json(url: str, timeout_s: float = 3.0) -> Any:
    """GET ``url`` and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.loads(response.read())


def opensearch_health(url: str, timeout_s: float = 3.0) -> str | None:
    """Cluster health status ("green", "yellow", "red"), or None when it does not answer."""
    try:
        body = http_json(url.rstrip("/") + "/_cluster/health", timeout_s)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    status = body.get("status") if isinstance(body, dict) else None
    return status if isinstance(status, str) else None


def opensearch_healthy(url: str, timeout_s: float = 3.0) -> bool:
    """True when the cluster is yellow or green (a single node never gets replicas: yellow)."""
    return opensearch_health(url, timeout_s) in ("green", "yellow")


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
