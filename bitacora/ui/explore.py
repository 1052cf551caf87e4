"""Explore: the page's URL parameters → the ``bitacora search`` query, and the extra bodies.

Pure functions. ``q``, ``since``, ``from``, ``to``, ``service``, ``level`` and ``trace`` mean
what the CLI flags of the same names mean, so a console URL and a ``bitacora search``
command line with the same values return the same events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bitacora import schema
from bitacora.durations import parse_duration
from bitacora.search import query as q
from bitacora.search.timeparse import parse_instant, to_nanos

#: Fields whose top values are shown next to the results, each a click from a filter.
TOP_FIELDS: tuple[str, ...] = ("service.name", "log.level", "kubernetes.namespace", "error.type")
#: The relative ranges offered in the time picker (any duration works in the URL).
SINCE_CHOICES: tuple[str, ...] = ("5m", "15m", "1h", "6h", "24h", "7d", "30d")
MAX_LIMIT = 1000
URL_KEYS: tuple[str, ...] = ("q", "since", "from", "to", "service", "level", "trace", "limit")


class BadParams(ValueError):
    """A URL parameter that cannot be understood; the message says which and why."""


@dataclass(frozen=True)
class ExploreRequest:
    """One Explore view: the search and how many rows to show."""

    params: q.SearchParams
    limit: int
    args: dict[str, list[str]]  # the URL parameters as given, for links and the form


def parse_request(
    query: Mapping[str, list[str]], now: datetime, index: str = schema.LOGS_PATTERN
) -> ExploreRequest:
    """``/?q=...&since=...`` → an ``ExploreRequest``; raises ``BadParams``."""
    args = {k: [v for v in query.get(k, []) if v != ""] for k in URL_KEYS}
    args = {k: v for k, v in args.items() if v}

    def one(key: str) -> str | None:
        values = args.get(key)
        return values[-1] if values else None

    since, start, end = one("since"), one("from"), one("to")
    if since and start:
        raise BadParams("use since or from, not both")
    try:
        begin = (
            now - timedelta(seconds=parse_duration(since))
            if since
            else parse_instant(start, now)
            if start
            else None
        )
        finish = parse_instant(end, now) if end else None
    except ValueError as exc:
        raise BadParams(str(exc)) from exc
    level = one("level")
    if level is not None and level not in schema.SEVERITY:
        raise BadParams(f"unknown level {level!r}: use one of {', '.join(schema.LEVELS)}")
    trace = one("trace")
    try:
        limit = int(one("limit") or (0 if trace else 100))
    except ValueError as exc:
        raise BadParams("limit must be a whole number") from exc
    if not 0 <= limit <= MAX_LIMIT:
        raise BadParams(f"limit must be between 0 and {MAX_LIMIT}")
    params = q.SearchParams(
        query=one("q") or "",
        start=begin,
        end=finish,
        services=tuple(args.get("service", [])),
        level=level,
        trace_id=trace,
        index=index,
    )
    return ExploreRequest(params=params, limit=limit or MAX_LIMIT, args=args)


def link(args: Mapping[str, list[str]], path: str = "/", **changes: str | None) -> str:
    """A console URL with ``args`` and some keys replaced (None removes a key)."""
    merged: dict[str, list[str]] = {k: list(v) for k, v in args.items()}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = [value]
    pairs = [(k, v) for k in URL_KEYS for v in merged.get(k, [])]
    return path + ("?" + urlencode(pairs) if pairs else "")


def quote_value(value: Any) -> str:
    """A value as a query_string phrase: ``"order-service"`` with quotes and backslashes escaped."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def add_filter(query: str, field: str, value: Any) -> str:
    """The query narrowed to ``field`` = ``value`` (what a click on a top value does)."""
    clause = f"{field}:{quote_value(value)}"
    text = query.strip()
    if not text or text == "*":
        return clause
    return f"({text}) AND {clause}"


def top_values_body(params: q.SearchParams, fields: tuple[str, ...] = TOP_FIELDS) -> q.Body:
    """The five most frequent values of each of ``fields`` among the matching events."""
    return {
        "size": 0,
        "query": q.build_query(params),
        "aggs": {f: {"terms": {"field": f, "size": 5}} for f in fields},
    }


def top_values(
    response: Mapping[str, Any], fields: tuple[str, ...] = TOP_FIELDS
) -> dict[str, list[tuple[str, int]]]:
    """``{field: [(value, count), ...]}`` from the answer to ``top_values_body``."""
    aggs = response.get("aggregations", {})
    return {
        f: [
            (str(b.get("key_as_string", b["key"])), int(b["doc_count"]))
            for b in aggs.get(f, {}).get("buckets", [])
        ]
        for f in fields
    }


def histogram_range(
    params: q.SearchParams, now: datetime, bounds: tuple[int | None, int | None]
) -> tuple[datetime, datetime] | None:
    """The range the histogram covers: the request's, else oldest to newest match (ms bounds)."""
    start, end = params.start, params.end
    if start is None:
        first, last = bounds
        if first is None or last is None:
            return None
        start = datetime.fromtimestamp(first / 1000, UTC)
        if end is None:
            end = datetime.fromtimestamp(last / 1000, UTC) + timedelta(milliseconds=1)
    return start, end if end is not None else now


def level_histogram_body(
    params: q.SearchParams, start: datetime, end: datetime, buckets: int = 60
) -> tuple[q.Body, int]:
    """Counts per interval split by ``log.level`` (the CLI histogram's body plus a split)."""
    interval, width = q.pick_interval(end - start, buckets)
    body = q.histogram_body(params, to_nanos(start), to_nanos(end), interval)
    body["aggs"]["per_interval"]["aggs"] = {"level": {"terms": {"field": "log.level", "size": 10}}}
    return body, width


def split_buckets(
    response: Mapping[str, Any], outer: str = "per_interval", inner: str = "level"
) -> tuple[list[int], dict[str, list[int]]]:
    """``(bucket starts in ms, {split value: counts per bucket})`` of a split date histogram."""
    rows = response.get("aggregations", {}).get(outer, {}).get("buckets", [])
    starts = [int(b["key"]) for b in rows]
    series: dict[str, list[int]] = {}
    for i, bucket in enumerate(rows):
        for sub in bucket.get(inner, {}).get("buckets", []):
            name = str(sub.get("key_as_string", sub["key"]))
            series.setdefault(name, [0] * len(rows))[i] = int(sub["doc_count"])
    return starts, series


def event_by_id_body(event_id: str) -> q.Body:
    """The one event with this ``event.id``, with its sort values (for context)."""
    return {
        "size": 1,
        "query": {"term": {"event.id": event_id}},
        "sort": q.sort_clause(forward=False),
    }
