"""OpenSearch request bodies for ``bitacora search``: pure functions over ``SearchParams``.

Every body sorts on ``(@timestamp, event.id)``: ``event.id`` is unique (it is also the
``_id``), so the pair is a total order and ``search_after`` pages through any number of
events without ``from``/``size`` deep paging and without gaps or repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bitacora import schema
from bitacora.errors import RuleError
from bitacora.fields import lookup
from bitacora.rules.query_string import DEFAULT_FIELDS, DEFAULT_OPERATOR, parse_query_string
from bitacora.search.errors import BadQueryError
from bitacora.search.timeparse import to_nanos, to_rfc3339_nanos

Body = dict[str, Any]

#: Fields an unqualified query term (``timeout``) is searched in: the rules' own.
DEFAULT_QUERY_FIELDS: tuple[str, ...] = DEFAULT_FIELDS
#: Events per request when streaming; a page is the unit of memory the CLI holds.
PAGE_SIZE = 1000
_NANOS_FORMAT = "strict_date_optional_time_nanos"
_ALWAYS_FETCHED = ("@timestamp", "event.id", "service.name", "kubernetes.pod.name", "host.name")
# Histogram intervals a human reads easily, smallest first (seconds, OpenSearch syntax).
_INTERVALS: tuple[tuple[int, str], ...] = (
    (1, "1s"),
    (5, "5s"),
    (10, "10s"),
    (30, "30s"),
    (60, "1m"),
    (300, "5m"),
    (600, "10m"),
    (1800, "30m"),
    (3600, "1h"),
    (3 * 3600, "3h"),
    (6 * 3600, "6h"),
    (12 * 3600, "12h"),
    (86400, "1d"),
    (7 * 86400, "7d"),
    (30 * 86400, "30d"),
)


@dataclass(frozen=True)
class SearchParams:
    """What to search: the query and the filters every subcommand shares.

    ``start`` is inclusive and ``end`` exclusive, like logcli's ``--from``/``--to``.
    """

    query: str = ""
    start: datetime | None = None
    end: datetime | None = None
    services: tuple[str, ...] = ()
    level: str | None = None
    trace_id: str | None = None
    index: str = schema.LOGS_PATTERN
    fields: tuple[str, ...] = ()


def time_range(start_ns: int | None, end_ns: int | None, *, end_inclusive: bool = False) -> Body:
    """A ``range`` clause on ``@timestamp`` with nanosecond bounds."""
    bounds: dict[str, Any] = {"format": _NANOS_FORMAT}
    if start_ns is not None:
        bounds["gte"] = to_rfc3339_nanos(start_ns)
    if end_ns is not None:
        bounds["lte" if end_inclusive else "lt"] = to_rfc3339_nanos(end_ns)
    return {"range": {"@timestamp": bounds}}


def query_between(params: SearchParams, start_ns: int | None, end_ns: int | None) -> Body:
    """:func:`build_query` with the time range given in nanoseconds instead of ``params``'."""
    query = build_query(params, with_time=False)
    clause = time_range(start_ns, end_ns)
    if query == {"match_all": {}}:
        return {"bool": {"must": [], "filter": [clause]}}
    query["bool"]["filter"].append(clause)
    return query


def build_query(params: SearchParams, *, with_time: bool = True) -> Body:
    """The ``query`` part: query_string plus service, level, trace and time filters.

    The text is read first as rule filters read it (``rules.query_string``): syntax that
    reading refuses raises ``BadQueryError`` instead of being sent.
    """
    must: list[Body] = []
    filters: list[Body] = []
    text = params.query.strip()
    if text and text != "*":
        try:
            parse_query_string(text)
        except RuleError as exc:
            raise BadQueryError(f"bad query: {exc}") from None
        must.append(
            {
                "query_string": {
                    "query": text,
                    "fields": list(DEFAULT_QUERY_FIELDS),
                    "default_operator": DEFAULT_OPERATOR,
                    "analyze_wildcard": True,
                }
            }
        )
    if params.services:
        filters.append({"terms": {"service.name": list(params.services)}})
    if params.level is not None:
        filters.append({"range": {"event.severity": {"gte": schema.SEVERITY[params.level]}}})
    if params.trace_id is not None:
        filters.append({"term": {"trace.id": params.trace_id}})
    if with_time and (params.start is not None or params.end is not None):
        start = to_nanos(params.start) if params.start is not None else None
        end = to_nanos(params.end) if params.end is not None else None
        filters.append(time_range(start, end))
    if not must and not filters:
        return {"match_all": {}}
    return {"bool": {"must": must, "filter": filters}}


def sort_clause(forward: bool) -> list[Body]:
    """``(@timestamp, event.id)`` ascending when ``forward`` else descending.

    ``numeric_type`` makes date and date_nanos backing indices sort together;
    ``unmapped_type`` keeps an index without the field from failing the whole search.
    """
    order = "asc" if forward else "desc"
    return [
        {
            "@timestamp": {
                "order": order,
                "numeric_type": "date_nanos",
                "unmapped_type": "date_nanos",
            }
        },
        {"event.id": {"order": order, "unmapped_type": "keyword"}},
    ]


def search_body(
    params: SearchParams,
    *,
    size: int,
    forward: bool,
    search_after: list[Any] | None = None,
) -> Body:
    """One page of hits, continuing after ``search_after`` (the last hit's sort values)."""
    body: Body = {
        "size": size,
        "query": build_query(params),
        "sort": sort_clause(forward),
        "track_total_hits": False,
    }
    if params.fields:
        # The cursor and --context need these even when the user shows other fields.
        body["_source"] = {"includes": sorted({*params.fields, *_ALWAYS_FETCHED})}
    if search_after is not None:
        body["search_after"] = search_after
    return body


def count_body(params: SearchParams) -> Body:
    """The body of a ``_count`` request for ``--count``."""
    return {"query": build_query(params)}


def bounds_body(params: SearchParams) -> Body:
    """Oldest and newest matching ``@timestamp``, to size a histogram of unbounded searches."""
    return {
        "size": 0,
        "query": build_query(params),
        "aggs": {
            "first": {"min": {"field": "@timestamp"}},
            "last": {"max": {"field": "@timestamp"}},
        },
    }


def pick_interval(span: timedelta, buckets: int = 60) -> tuple[str, int]:
    """The smallest readable interval giving at most ``buckets`` bars over ``span``."""
    seconds = max(span.total_seconds(), 1.0)
    for width, name in _INTERVALS:
        if seconds / width <= buckets:
            return name, width
    return _INTERVALS[-1][1], _INTERVALS[-1][0]


def histogram_body(params: SearchParams, start_ns: int, end_ns: int, interval: str) -> Body:
    """Counts per ``interval`` between ``start_ns`` and ``end_ns``, empty buckets included."""
    query = query_between(params, start_ns, end_ns)
    return {
        "size": 0,
        "query": query,
        "aggs": {
            "per_interval": {
                "date_histogram": {
                    "field": "@timestamp",
                    "fixed_interval": interval,
                    "min_doc_count": 0,
                    "extended_bounds": {
                        "min": start_ns // 1_000_000,
                        "max": (end_ns - 1) // 1_000_000,
                    },
                }
            }
        },
    }


def context_bodies(
    source: Mapping[str, Any], sort_values: list[Any], lines: int, index: str
) -> tuple[Body, Body]:
    """Bodies for the ``lines`` events before and after one hit from the same service and pod.

    The pod (``kubernetes.pod.name``) is the narrowest stream of lines a process writes;
    without it the host is used. The query itself is ignored: context is what surrounded
    the hit, as ``grep -C`` shows it.
    """
    del index  # the caller passes it to the client; kept in the signature for symmetry
    filters: list[Body] = []
    for field in ("service.name", "kubernetes.pod.name", "host.name"):
        value = lookup(source, field)
        if value is not None:
            filters.append({"term": {field: value}})
            if field != "service.name":
                break
    query: Body = {"bool": {"filter": filters}} if filters else {"match_all": {}}
    before = {
        "size": lines,
        "query": query,
        "sort": sort_clause(forward=False),
        "search_after": sort_values,
        "track_total_hits": False,
    }
    after = {
        "size": lines,
        "query": query,
        "sort": sort_clause(forward=True),
        "search_after": sort_values,
        "track_total_hits": False,
    }
    return before, after


def follow_body(
    params: SearchParams, since_ns: int, size: int, search_after: list[Any] | None
) -> Body:
    """One page of a ``--tail`` poll: events at or after ``since_ns``, oldest first."""
    query = query_between(params, since_ns, None)
    body: Body = {
        "size": size,
        "query": query,
        "sort": sort_clause(forward=True),
        "track_total_hits": False,
    }
    if params.fields:
        body["_source"] = {"includes": sorted({*params.fields, *_ALWAYS_FETCHED})}
    if search_after is not None:
        body["search_after"] = search_after
    return body
