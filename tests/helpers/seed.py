"""Put generated events straight into OpenSearch, without the pipeline, for search/report tests.

Each test session gets its own data streams ``logs-svc<uuid8>-<service>`` under its own
index template (the lead's mapping, a unique pattern, a higher priority than ``logs-*``),
so searches restricted to ``logs-svc<uuid8>-*`` see exactly the events planted here.
"""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opensearchpy import OpenSearch

from bitacora.processors.storage.templates import (
    alerts_index_template,
    deadletter_index_template,
    logs_index_template,
)
from bitacora.schema import SEVERITY
from bitacora.search.timeparse import to_nanos, to_rfc3339_nanos
from bitacora.settings import Settings

Event = dict[str, Any]


@dataclass(frozen=True)
class Streams:
    """A session's private index patterns and the templates that make them data streams."""

    tag: str

    @property
    def logs_prefix(self) -> str:
        return f"logs-svc{self.tag}-"

    @property
    def logs(self) -> str:
        return f"{self.logs_prefix}*"

    @property
    def alerts(self) -> str:
        return f"bitacoratest-alerts-{self.tag}"

    @property
    def deadletter(self) -> str:
        return f"bitacoratest-deadletter-{self.tag}"

    def logs_stream(self, service: str) -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in service.lower())
        return self.logs_prefix + safe

    @property
    def templates(self) -> dict[str, str]:
        """Template name → pattern."""
        return {
            f"test-logs-{self.tag}": self.logs,
            f"test-alerts-{self.tag}": self.alerts + "*",
            f"test-deadletter-{self.tag}": self.deadletter + "*",
        }


def new_streams() -> Streams:
    """Unique names for one test session or module."""
    return Streams(uuid.uuid4().hex[:8])


def install(client: OpenSearch, streams: Streams) -> None:
    """Install the three templates (the lead's mappings) for the private patterns."""
    settings = Settings()
    # Above the shipped templates (priority 200) and unlikely to equal anyone else's.
    priority = 1000 + random.randrange(1_000_000)
    bodies = {
        f"test-logs-{streams.tag}": logs_index_template(
            settings, pattern=streams.logs, priority=priority
        ),
        f"test-alerts-{streams.tag}": alerts_index_template(
            settings, pattern=streams.alerts + "*", priority=priority
        ),
        f"test-deadletter-{streams.tag}": deadletter_index_template(
            settings, pattern=streams.deadletter + "*", priority=priority
        ),
    }
    for name, body in bodies.items():
        client.indices.put_index_template(name=name, body=body)


@contextlib.contextmanager
def installed(client: OpenSearch, streams: Streams) -> Iterator[Streams]:
    """Install the templates, and remove streams and templates afterwards, even if the
    seeding inside the block fails."""
    install(client, streams)
    try:
        yield streams
    finally:
        remove(client, streams)


def remove(client: OpenSearch, streams: Streams) -> None:
    """Delete the session's data streams and templates."""
    for pattern in streams.templates.values():
        client.indices.delete_data_stream(name=pattern, ignore=[404])
    for name in streams.templates:
        client.indices.delete_index_template(name=name, ignore=[404])


def event(
    ts: datetime | int,
    *,
    service: str,
    level: str = "info",
    message: str = "",
    event_id: str | None = None,
    **fields: Any,
) -> Event:
    """A normalized event with flat dotted keys, as the index stage writes it.

    ``ts`` is an aware datetime or nanoseconds since the epoch; extra fields are given
    with ``__`` for dots (``url__path="/x"``) or as a mapping in ``fields["extra"]``.
    """
    ns = ts if isinstance(ts, int) else to_nanos(ts)
    doc: Event = {
        "@timestamp": to_rfc3339_nanos(ns),
        "event.id": event_id or uuid.uuid4().hex,
        "event.severity": SEVERITY[level],
        "log.level": level,
        "service.name": service,
        "message": message,
    }
    extra = fields.pop("extra", {})
    for key, value in fields.items():
        doc[key.replace("__", ".")] = value
    doc.update(extra)
    return doc


def _actions(docs: Iterable[Mapping[str, Any]], index_for: Any) -> Iterator[str]:
    for doc in docs:
        meta = {"create": {"_index": index_for(doc)}}
        if "event.id" in doc:
            meta["create"]["_id"] = doc["event.id"]
        yield json.dumps(meta)
        yield json.dumps(doc)


def bulk(
    client: OpenSearch, docs: Iterable[Mapping[str, Any]], index_for: Any, chunk: int = 5000
) -> int:
    """Index ``docs`` with ``op_type=create`` in chunks; fails loudly on any item error."""
    batch: list[str] = []
    total = 0

    def flush() -> None:
        nonlocal total
        if not batch:
            return
        answer = client.bulk(body="\n".join(batch) + "\n", params={"request_timeout": 120})
        if answer["errors"]:
            bad = [i for i in answer["items"] if i["create"].get("error")][:3]
            raise AssertionError(f"bulk errors: {bad}")
        total += len(answer["items"])
        batch.clear()

    for line in _actions(docs, index_for):
        batch.append(line)
        if len(batch) >= 2 * chunk:
            flush()
    flush()
    return total


def index_logs(
    client: OpenSearch, streams: Streams, docs: Iterable[Event], *, refresh: bool = True
) -> int:
    """Index log events into ``logs-svc<tag>-<service>`` and make them searchable."""
    count = bulk(client, docs, lambda d: streams.logs_stream(d["service.name"]))
    if refresh:
        client.indices.refresh(index=streams.logs)
    return count
