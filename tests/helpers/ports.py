"""Ports for servers a test stops and starts again (a private Kafka or OpenSearch).

A port the kernel hands out for ``bind(0)`` lies in the ephemeral range, which outgoing
connections also draw their local ports from: while a test's Kafka is down for a minute,
any client on the machine may take its port (or its controller's) as the local end of a
connection, and the restart then fails with "Address already in use". Ports below the
ephemeral range are never taken that way, so a restart finds them free.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_low() -> int:
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default lower bound


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


KAFKA_OFFSETS = (0, 1, 2, 3)  # broker, controller, SASL_SSL, mTLS (bitacora.stack.config)
OPENSEARCH_OFFSETS = (0, 100)  # HTTP, transport


def restartable_port(offsets: tuple[int, ...] = (0,)) -> int:
    """A port ``p`` below the ephemeral range with ``p + offset`` free for every offset (the
    ports a stack service derives from its base): a server stopped there can start again."""
    high = _ephemeral_low() - max(offsets) - 1
    for _ in range(200):
        port = random.randint(20_000, high)
        if all(_bindable(port + offset) for offset in offsets):
            return port
    raise AssertionError(f"no free ports at offsets {offsets} below {high}")
