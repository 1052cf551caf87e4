"""Retention of the ``logs-*`` data streams: with ISM where it exists, by hand where it does not.

``processors/storage/ism.py`` builds the Index State Management policy for clusters that
have the index-management plugin (hot → rollover → delete after the retention). Where ISM is absent
(the local stack: its plugin zip is not published, see docs/stack.md), ``apply_retention``
does the same with core APIs only: ``POST <stream>/_rollover`` with conditions, then
``DELETE`` of backing indices that stopped receiving writes more than the retention ago —
never the write index. The planning is pure (``indices_to_delete``); the rest is a thin shell.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import ConnectionError as OpenSearchConnectionError
from opensearchpy import NotFoundError, OpenSearch, TransportError

from bitacora.processors.storage.ism import ISM_POLICIES_PATH, parse_duration, parse_size


def rollover_body(
    max_age: str | None = None, max_docs: int | None = None, max_size: str | None = None
) -> dict[str, Any]:
    """The body of ``POST <stream>/_rollover``: only the conditions that are set.

    With no condition at all the rollover is unconditional.
    """
    conditions: dict[str, Any] = {}
    if max_age is not None:
        parse_duration(max_age)
        conditions["max_age"] = max_age
    if max_docs is not None:
        conditions["max_docs"] = max_docs
    if max_size is not None:
        parse_size(max_size)
        conditions["max_size"] = max_size
    return {"conditions": conditions} if conditions else {}


@dataclass(frozen=True)
class BackingIndex:
    """One backing index of a data stream, in generation order, with its creation time."""

    name: str
    created: datetime


def indices_to_delete(
    backing: list[BackingIndex], retention: timedelta, now: datetime
) -> list[str]:
    """Backing indices whose data is older than ``retention``, oldest first.

    ``backing`` is in generation order; the last one is the write index and is never
    deleted. An index stopped receiving writes when its successor was created, so it may go
    once that moment is more than ``retention`` ago: no event younger than the retention is
    ever deleted (ISM's ``min_index_age`` counts from creation instead, which can delete
    up to one rollover period early).
    """
    doomed = []
    for index, successor in itertools.pairwise(backing):
        if now - successor.created >= retention:
            doomed.append(index.name)
    return doomed


@dataclass
class RetentionReport:
    """What ``apply_retention`` did, per data stream."""

    rolled_over: dict[str, str] = field(default_factory=dict)  # stream -> new write index
    deleted: list[str] = field(default_factory=list)
    kept: dict[str, list[str]] = field(default_factory=dict)  # stream -> remaining indices


def ism_available(client: OpenSearch) -> bool:
    """True when the index-management plugin answers (``GET _plugins/_ism/policies``)."""
    try:
        client.transport.perform_request("GET", ISM_POLICIES_PATH, params={"size": 1})
    except NotFoundError as error:
        # 404 "no handler found" means no plugin; 404 "no policies" means ISM is there.
        return "no handler found" not in str(error.info).lower()
    except OpenSearchConnectionError:
        raise
    except TransportError:
        return False  # 400 "no handler found": the plugin is not installed
    return True


def _backing_indices(client: OpenSearch, stream: str) -> list[BackingIndex]:
    streams = client.indices.get_data_stream(name=stream)["data_streams"]
    names = [entry["index_name"] for entry in streams[0]["indices"]]
    settings = client.indices.get_settings(index=",".join(names), name="index.creation_date")
    return [
        BackingIndex(
            name=name,
            created=datetime.fromtimestamp(
                int(settings[name]["settings"]["index"]["creation_date"]) / 1000, tz=UTC
            ),
        )
        for name in names
    ]


def apply_retention(
    client: OpenSearch,
    pattern: str,
    retention: timedelta,
    max_age: str | None = None,
    max_docs: int | None = None,
    max_size: str | None = None,
    now: datetime | None = None,
) -> RetentionReport:
    """Enforce retention on every data stream matching ``pattern`` without ISM.

    Rolls each stream over when a condition holds (``max_age``/``max_docs``/``max_size``;
    none given: no rollover), then deletes backing indices older than ``retention``
    (``indices_to_delete``). ``now`` is for tests; default: the current time.
    """
    report = RetentionReport()
    try:
        streams = client.indices.get_data_stream(name=pattern)["data_streams"]
    except NotFoundError:
        return report
    body = rollover_body(max_age, max_docs, max_size)
    for stream in sorted(s["name"] for s in streams):
        if body:
            answer = client.indices.rollover(alias=stream, body=body)
            if answer.get("rolled_over"):
                report.rolled_over[stream] = answer["new_index"]
        backing = _backing_indices(client, stream)
        doomed = indices_to_delete(backing, retention, now or datetime.now(UTC))
        for name in doomed:
            client.indices.delete(index=name)
            report.deleted.append(name)
        report.kept[stream] = [b.name for b in backing if b.name not in doomed]
    return report
