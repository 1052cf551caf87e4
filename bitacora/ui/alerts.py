"""The alerts page: rows of the history (read by ``bitacora.search.alerts``, as
``bitacora alerts list`` reads it) and the links to their matching events. Pure.

Silences are read and written with ``processors.alerting.silences`` (the compacted Kafka
topic every notify worker follows), exactly as ``bitacora alerts silence`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bitacora.search.timeparse import parse_event_time, to_rfc3339_nanos
from bitacora.ui.explore import link


@dataclass(frozen=True)
class AlertRow:
    """One alert document: a firing or a resolve notice of a rule for one key."""

    time: str
    rule: str
    key: str
    status: str
    severity: str
    count: int
    events_url: str
    open: bool  # the newest notice of its rule and key is a firing


def events_url(doc: Mapping[str, Any]) -> str:
    """The Explore link of an alert's matching events: its query over its events' time span."""
    args: dict[str, list[str]] = {}
    query = str(doc.get("search_query") or "")
    if query:
        args["q"] = [query]
    try:
        first = parse_event_time(str(doc["first_event_time"]))
        last = parse_event_time(str(doc["last_event_time"]))
    except (KeyError, ValueError):
        return link(args)
    args["from"] = [to_rfc3339_nanos(first)]
    args["to"] = [to_rfc3339_nanos(last + 1_000_000)]  # `to` is exclusive
    return link(args)


def history(docs: Sequence[Mapping[str, Any]]) -> list[AlertRow]:
    """Alert documents (newest first) as rows; ``open`` marks each key's newest firing."""
    seen: set[tuple[str, str]] = set()
    rows = []
    for doc in docs:
        ident = (str(doc.get("rule", "")), str(doc.get("key", "")))
        newest = ident not in seen
        seen.add(ident)
        rows.append(
            AlertRow(
                time=str(doc.get("@timestamp", "")),
                rule=ident[0],
                key=ident[1],
                status=str(doc.get("status", "")),
                severity=str(doc.get("severity", "")),
                count=int(doc.get("count", 0)),
                events_url=events_url(doc),
                open=newest and doc.get("status") == "firing",
            )
        )
    return rows
