"""Realistic rules and events for benchmarks: ``make_rules(n)`` and ``make_events(n)``.

The rules cycle through the shipped patterns (bursts, silences, spikes, new error types,
5xx rates, database FATALs, auth failures) with distinct services, levels and thresholds,
so n rules cost what n real rules would: most events reach few of them via the prefilter.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bitacora.durations import format_timestamp
from bitacora.rules.model import Rule

SERVICES = ("user-service", "contact-service", "review-service", "product-service", "order-service")


def _rule(i: int, services: Sequence[str] = SERVICES) -> dict[str, Any]:
    service = services[i % len(services)]
    name = f"bench-{i:03d}"
    pattern = i % 7
    if pattern == 0:
        return {
            "name": name,
            "type": "frequency",
            "num_events": 20 + i,
            "timeframe": "1m",
            "query_key": "service.name",
            "filter": [{"terms": {"log.level": ["error", "fatal"]}}],
        }
    if pattern == 1:
        return {
            "name": name,
            "type": "flatline",
            "threshold": 1,
            "timeframe": "10m",
            "filter": [{"term": {"service.name": service}}],
        }
    if pattern == 2:
        return {
            "name": name,
            "type": "spike",
            "timeframe": "5m",
            "spike_height": 3,
            "spike_type": "up",
            "threshold_cur": 10,
            "query_key": "service.name",
            "filter": [
                {
                    "query": {
                        "query_string": {"query": f"log.level:error AND service.name:{service}"}
                    }
                }
            ],
        }
    if pattern == 3:
        return {
            "name": name,
            "type": "new_term",
            "fields": ["error.type"],
            "query_key": "service.name",
            "filter": [{"exists": {"field": "error.type"}}, {"term": {"service.name": service}}],
        }
    if pattern == 4:
        return {
            "name": name,
            "type": "frequency",
            "num_events": 50,
            "timeframe": "5m",
            "filter": [
                {"term": {"service.name": f"ingress-{i}"}},
                {"range": {"http.response.status_code": {"gte": 500, "lte": 599}}},
            ],
        }
    if pattern == 5:
        query = f"service.name:(postgres-{i} OR mongodb-{i}) AND (log.level:fatal OR message:PANIC)"
        return {
            "name": name,
            "type": "any",
            "query_key": "service.name",
            "filter": [{"query": {"query_string": {"query": query}}}],
        }
    query = f'http.response.status_code:401 AND url.path:"/api/v{i}/login"'
    return {
        "name": name,
        "type": "frequency",
        "num_events": 10,
        "timeframe": "5m",
        "query_key": "client.ip",
        "filter": [{"query": {"query_string": {"query": query}}}],
    }


def make_rules(n: int, services: Sequence[str] = SERVICES) -> list[Rule]:
    """``n`` distinct, valid, realistic rules about ``services`` (one each in turn)."""
    return [Rule.model_validate(_rule(i, services)) for i in range(n)]


def write_rules(directory: Path, n: int) -> list[Path]:
    """Write ``make_rules(n)`` as YAML files (one per rule) for ``BITACORA_RULES_DIR``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = directory / f"bench_{i:03d}.yaml"
        path.write_text(yaml.safe_dump(_rule(i), sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def make_events(n: int, start: float = 1_800_000_000.0, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` normalized events: mostly info, some errors, access logs with statuses."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        level = rng.choices(("info", "debug", "warn", "error"), (80, 10, 6, 4))[0]
        event: dict[str, Any] = {
            "@timestamp": format_timestamp(start + i * 0.001),
            "event.id": f"bench-{seed}-{i}",
            "service.name": SERVICES[i % len(SERVICES)],
            "log.level": level,
            "message": f"request {i} handled",
            "http.response.status_code": rng.choice((200, 200, 200, 201, 304, 401, 404, 500, 503)),
            "url.path": "/api/v1/items",
            "client.ip": f"10.0.{i % 7}.{i % 251}",
        }
        if level == "error":
            event["error.type"] = rng.choice(("KeyError", "TimeoutError", "ValueError"))
        events.append(event)
    return events
