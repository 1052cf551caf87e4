"""Retention of the ``logs-*`` data streams: with ISM where it exists, by hand where it does not.

``processors/storage/ism.py`` builds the Index State Management policy for clusters that
have the index-management plugin (hot → rollover → delete after the retention). Where ISM is absent
(the local stack: its plugin zip is not published, see docs/stack.md), ``apply_retention``
does the same with core APIs only: ``POST <stream>/_rollover`` with conditions, then
``DELETE`` of backing indices that stopped receiving writes more than the retention ago —
never the write index. The planning is pure (``indices_to_delete``); the rest is a thin shell.

``retention_status`` lists every backing index of the data streams with its age, size,
document count and ISM state (when the plugin answers); ``build_rows`` and ``format_rows``
are its pure parts.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
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


NO_ISM_NOTE = "ISM not installed: enforced by `bitacora retention apply`"


@dataclass(frozen=True)
class IndexRow:
    """One backing index as ``bitacora retention status`` shows it."""

    stream: str
    index: str
    write_index: bool
    created: datetime | None
    docs: int
    size_bytes: int
    ism: str | None


def human_bytes(size: int) -> str:
    """``1536`` → ``1.5 KiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_age(age: timedelta) -> str:
    """``timedelta(hours=50)`` → ``2d 2h``; under an hour in minutes."""
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)}m"
    hours, days = minutes // 60, minutes // 1440
    return f"{days}d {hours % 24}h" if days else f"{hours}h {minutes % 60}m"


def ism_state(explain: dict[str, Any] | None) -> str | None:
    """``policy p: hot (rollover)`` from one index of ``_plugins/_ism/explain``."""
    if explain is None:
        return None
    policy = explain.get("policy_id") or explain.get(
        "index.plugins.index_state_management.policy_id"
    )
    if not policy:
        return "not managed"
    state = (explain.get("state") or {}).get("name", "initializing")
    action = explain.get("action") or {}
    suffix = (
        f" ({action['name']}{', failed' if action.get('failed') else ''})"
        if action.get("name")
        else ""
    )
    return f"policy {policy}: {state}{suffix}"


def build_rows(
    streams: list[dict[str, Any]],
    cat: list[dict[str, Any]],
    explain: dict[str, Any] | None,
) -> list[IndexRow]:
    """Rows from ``GET _data_stream``, ``_cat/indices`` (bytes=b) and the ISM explain answer."""
    by_name = {row["index"]: row for row in cat}
    rows = []
    for stream in sorted(streams, key=lambda s: s["name"]):
        names = [entry["index_name"] for entry in stream["indices"]]
        for name in names:
            info = by_name.get(name, {})
            created = info.get("creation.date")
            rows.append(
                IndexRow(
                    stream=stream["name"],
                    index=name,
                    write_index=name == names[-1],
                    created=datetime.fromtimestamp(int(created) / 1000, UTC) if created else None,
                    docs=int(info.get("docs.count") or 0),
                    size_bytes=int(info.get("store.size") or 0),
                    ism=ism_state(explain.get(name, {})) if explain is not None else None,
                )
            )
    return rows


def format_rows(rows: list[IndexRow], now: datetime, ism_installed: bool) -> list[str]:
    """An aligned table, one line per backing index, and the ISM note when it is absent."""
    header = ["STREAM", "BACKING INDEX", "AGE", "SIZE", "DOCS", "ISM"]
    table = [header]
    for row in rows:
        age = human_age(now - row.created) if row.created else "?"
        index = row.index + (" (write)" if row.write_index else "")
        ism = row.ism if ism_installed and row.ism else "-"
        table.append([row.stream, index, age, human_bytes(row.size_bytes), str(row.docs), ism])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    right = {2, 3, 4}
    lines = [
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in table
    ]
    if not rows:
        lines = ["no data streams match"]
    if not ism_installed:
        lines.append(NO_ISM_NOTE)
    return lines


def status_document(rows: list[IndexRow], ism_installed: bool) -> dict[str, Any]:
    """The ``-o json`` form of the status: ISM presence, its note and every row."""
    return {
        "ism_installed": ism_installed,
        "note": None if ism_installed else NO_ISM_NOTE,
        "indices": [
            {**asdict(r), "created": r.created.isoformat() if r.created else None} for r in rows
        ],
    }


def retention_status(client: OpenSearch, pattern: str) -> tuple[list[IndexRow], bool]:
    """Query the cluster: (one row per backing index of ``pattern``, whether ISM answers)."""
    try:
        streams = client.indices.get_data_stream(name=pattern)["data_streams"]
    except NotFoundError:
        streams = []
    names = [entry["index_name"] for s in streams for entry in s["indices"]]
    installed = ism_available(client)
    if not names:
        return [], installed
    joined = ",".join(names)
    cat = client.cat.indices(
        index=joined, format="json", bytes="b", h="index,docs.count,store.size,creation.date"
    )
    explain = None
    if installed:
        explain = client.transport.perform_request("GET", f"/_plugins/_ism/explain/{joined}")
    return build_rows(streams, cat, explain), installed
