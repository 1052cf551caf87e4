"""Deterministic, realistic log records that carry a source id and a sequence number.

Every record has ``source`` and ``seq`` fields, so whatever reaches OpenSearch can be
counted exactly (loss and duplication) by the benchmarks and the reliability suite.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

SERVICES = ("user-service", "order-service", "product-service", "review-service", "contact-service")
LEVELS = ("INFO", "INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR")
PATHS = ("/api/orders", "/api/products/42", "/api/users/me", "/api/reviews", "/healthz")
MESSAGES = (
    "GET {path} {status} {ms}ms",
    "order {n} created for customer {c}",
    "cache miss for product {n}",
    "payment provider answered in {ms}ms",
    "user {c} logged in",
    "slow query on reviews took {ms}ms",
)


def service_names(prefix: str, count: int = len(SERVICES)) -> list[str]:
    """Service names unique to one run (``prefix`` like ``bench1a2b``), one stream each."""
    return [f"{prefix}-{SERVICES[i % len(SERVICES)]}" for i in range(count)]


def record(source: str, seq: int, service: str, rng: random.Random) -> dict[str, Any]:
    """One application log record as a service would send it (about 300 bytes packed)."""
    template = rng.choice(MESSAGES)
    status = rng.choice((200, 200, 200, 201, 404, 500))
    message = template.format(
        path=rng.choice(PATHS),
        status=status,
        ms=rng.randint(1, 900),
        n=rng.randint(1000, 99999),
        c=rng.randint(1, 5000),
    )
    return {
        "message": message,
        "level": rng.choice(LEVELS),
        "logger": f"{service}.handlers",
        "service": service,
        "host": f"node-{rng.randint(1, 4)}",
        "http.method": "GET",
        "http.status": status,
        "trace_id": f"{rng.getrandbits(128):032x}",
        "source": source,
        "seq": seq,
    }


def records(
    source: str, count: int, services: list[str], seed: int = 7
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``count`` records of ``source`` numbered 0..count-1, as ``(tag, record)``.

    The tag is ``<service>.app``, so the processor files them under ``logs-<service>``.
    """
    rng = random.Random(seed)
    for seq in range(count):
        service = services[seq % len(services)]
        yield f"{service}.app", record(source, seq, service, rng)


def now_event_time() -> tuple[int, int]:
    """The current time as (seconds, nanoseconds)."""
    ns = time.time_ns()
    return ns // 1_000_000_000, ns % 1_000_000_000
