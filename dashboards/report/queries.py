"""Request bodies of the weekly review and the parsers of their answers (pure functions)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bitacora import schema
from bitacora.dashboards.report.model import (
    AlertSummary,
    DeadLetters,
    Endpoint,
    ErrorType,
    LagStats,
    ServiceTrend,
    Week,
)
from bitacora.fields import lookup
from bitacora.search.timeparse import parse_event_time

Body = dict[str, Any]
ERROR_SEVERITY = schema.SEVERITY["error"]
NO_TYPE = "(no error.type)"
_NS_PER_MS = 1_000_000
# event.ingested is a date (ms) and @timestamp a date_nanos: compare both in milliseconds.
_LAG_SCRIPT = (
    "doc['event.ingested'].value.toInstant().toEpochMilli()"
    " - doc['@timestamp'].value.toInstant().toEpochMilli()"
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def time_filter(start: datetime, end: datetime, field: str = "@timestamp") -> Body:
    """``start <= field < end``."""
    return {"range": {field: {"gte": _iso(start), "lt": _iso(end)}}}


def _errors() -> Body:
    return {"range": {"event.severity": {"gte": ERROR_SEVERITY}}}


def _per_day(start: datetime, end: datetime) -> Body:
    return {
        "date_histogram": {
            "field": "@timestamp",
            "calendar_interval": "1d",
            "time_zone": "UTC",
            "min_doc_count": 0,
            "extended_bounds": {"min": _iso(start), "max": _iso(end - timedelta(milliseconds=1))},
        }
    }


def service_daily_body(week: Week) -> Body:
    """Events and errors per service per day over this week and the previous one."""
    start, end = week.previous.start, week.end
    return {
        "size": 0,
        "query": {"bool": {"filter": [time_filter(start, end)]}},
        "aggs": {
            "services": {
                "terms": {"field": "service.name", "size": 200},
                "aggs": {
                    "days": {**_per_day(start, end), "aggs": {"errors": {"filter": _errors()}}}
                },
            }
        },
    }


def _day_index(key_ms: int, week: Week) -> tuple[bool, int] | None:
    """(is this week, day 0..6) of a bucket key, None outside both weeks."""
    day = datetime.fromtimestamp(key_ms / 1000, UTC).date()
    if day in week.days:
        return True, week.days.index(day)
    prev = week.previous.days
    if day in prev:
        return False, prev.index(day)
    return None


def parse_service_daily(answer: Mapping[str, Any], week: Week) -> list[ServiceTrend]:
    """Trends per service, busiest first."""
    trends = []
    for bucket in answer["aggregations"]["services"]["buckets"]:
        trend = ServiceTrend(service=str(bucket["key"]))
        for day in bucket["days"]["buckets"]:
            where = _day_index(int(day["key"]), week)
            if where is None:
                continue
            current, index = where
            (trend.events if current else trend.prev_events)[index] += int(day["doc_count"])
            (trend.errors if current else trend.prev_errors)[index] += int(
                day["errors"]["doc_count"]
            )
        trends.append(trend)
    trends.sort(key=lambda t: (-t.total_events, t.service))
    return trends


def error_types_body(start: datetime, end: datetime, size: int = 10) -> Body:
    """The most frequent ``error.type`` among errors, with their top services."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [time_filter(start, end), _errors()]}},
        "aggs": {
            "types": {
                "terms": {"field": "error.type", "size": size, "missing": NO_TYPE},
                "aggs": {"services": {"terms": {"field": "service.name", "size": 3}}},
            }
        },
    }


def parse_error_types(current: Mapping[str, Any], previous: Mapping[str, Any]) -> list[ErrorType]:
    """Error types this week, each with its count of the previous week."""
    before = {b["key"]: int(b["doc_count"]) for b in previous["aggregations"]["types"]["buckets"]}
    return [
        ErrorType(
            name=str(b["key"]),
            count=int(b["doc_count"]),
            prev_count=before.get(b["key"], 0),
            services=tuple((str(s["key"]), int(s["doc_count"])) for s in b["services"]["buckets"]),
        )
        for b in current["aggregations"]["types"]["buckets"]
    ]


def alerts_body(week: Week, size: int = 10_000) -> Body:
    """Alert documents of the week (fired or resolved in it), oldest first."""
    return {
        "size": size,
        "query": {
            "bool": {
                "should": [
                    time_filter(week.start, week.end),
                    time_filter(week.start, week.end, "alert.resolved_at"),
                ],
                "minimum_should_match": 1,
            }
        },
        "sort": [{"@timestamp": {"order": "asc"}}],
        "_source": {"excludes": ["alert.samples"]},
    }


def _ns(value: Any) -> int | None:
    if isinstance(value, str) and value:
        try:
            return parse_event_time(value)
        except ValueError:
            return None
    return None


def _first(doc: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = lookup(doc, name)
        if value is not None and not isinstance(value, Mapping):
            return value
    return None


def summarize_alerts(docs: Iterable[Mapping[str, Any]], week: Week) -> list[AlertSummary]:
    """Per rule: alerts fired this week, resolved, and the time from firing to resolved.

    A resolve is matched to the latest firing of the same rule and key before it; when that
    firing is older than the documents at hand, ``alert.first_event`` stands in for it.
    """
    start_ns, end_ns = int(week.start.timestamp()) * 10**9, int(week.end.timestamp()) * 10**9
    fired: dict[str, int] = {}
    resolved: dict[str, int] = {}
    durations: dict[str, list[float]] = {}
    last_fire: dict[tuple[str, str], int] = {}
    ordered = sorted(docs, key=lambda d: _ns(lookup(d, "@timestamp")) or 0)
    for doc in ordered:
        # Both shapes: the mapped one (rule.name, alert.*) and Alert.to_document()'s flat one.
        rule = str(_first(doc, "rule.name", "rule") or "(unnamed)")
        key = str(_first(doc, "alert.key", "key") or "")
        at = _ns(lookup(doc, "@timestamp")) or 0
        status = _first(doc, "alert.status", "status")
        if status == "firing":
            last_fire[(rule, key)] = at
            if start_ns <= at < end_ns:
                fired[rule] = fired.get(rule, 0) + 1
        elif status == "resolved":
            done = _ns(_first(doc, "alert.resolved_at", "created_at")) or at
            if not start_ns <= done < end_ns:
                continue
            resolved[rule] = resolved.get(rule, 0) + 1
            began = last_fire.pop((rule, key), None) or _ns(
                _first(doc, "alert.first_event", "first_event_time")
            )
            if began is not None and done >= began:
                durations.setdefault(rule, []).append((done - began) / 1e9)
    summaries = []
    for rule in sorted(set(fired) | set(resolved)):
        spans = durations.get(rule, [])
        summaries.append(
            AlertSummary(
                rule=rule,
                fired=fired.get(rule, 0),
                resolved=resolved.get(rule, 0),
                median_resolve_s=statistics.median(spans) if spans else None,
                max_resolve_s=max(spans) if spans else None,
            )
        )
    summaries.sort(key=lambda s: (-s.fired, s.rule))
    return summaries


def lag_body(start: datetime, end: datetime) -> Body:
    """Percentiles of ``event.ingested - @timestamp`` in milliseconds."""
    script = {"script": {"source": _LAG_SCRIPT, "lang": "painless"}}
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {
            "bool": {"filter": [time_filter(start, end), {"exists": {"field": "event.ingested"}}]}
        },
        "aggs": {
            "lag": {"percentiles": {**script, "percents": [50, 95, 99]}},
            "max_lag": {"max": script},
        },
    }


def parse_lag(answer: Mapping[str, Any]) -> LagStats:
    """Lag statistics; all ``None`` when nothing was ingested in the range."""
    count = (
        int(answer["hits"]["total"]["value"])
        if isinstance(answer["hits"].get("total"), dict)
        else 0
    )
    values = answer["aggregations"]["lag"]["values"]

    def pick(key: str) -> float | None:
        value = values.get(key)
        return float(value) if value is not None else None

    top = answer["aggregations"]["max_lag"]["value"]
    return LagStats(
        count=count,
        p50_ms=pick("50.0"),
        p95_ms=pick("95.0"),
        p99_ms=pick("99.0"),
        max_ms=float(top) if top is not None else None,
    )


def deadletter_body(week: Week) -> Body:
    """Dead letters per day over both weeks; stage and reason of this week's."""
    start, end = week.previous.start, week.end
    return {
        "size": 0,
        "query": {"bool": {"filter": [time_filter(start, end)]}},
        "aggs": {
            "days": _per_day(start, end),
            "this_week": {
                "filter": time_filter(week.start, week.end),
                "aggs": {
                    "stages": {"terms": {"field": "deadletter.stage", "size": 10}},
                    "reasons": {"terms": {"field": "deadletter.reason", "size": 10}},
                },
            },
        },
    }


def parse_deadletters(answer: Mapping[str, Any], week: Week) -> DeadLetters:
    """Dead letters of both weeks."""
    letters = DeadLetters()
    aggs = answer["aggregations"]
    for day in aggs["days"]["buckets"]:
        where = _day_index(int(day["key"]), week)
        if where is not None:
            (letters.per_day if where[0] else letters.prev_per_day)[where[1]] += int(
                day["doc_count"]
            )
    this_week = aggs["this_week"]
    letters.by_stage = [
        (str(b["key"]), int(b["doc_count"])) for b in this_week["stages"]["buckets"]
    ]
    letters.top_reasons = [
        (str(b["key"]), int(b["doc_count"])) for b in this_week["reasons"]["buckets"]
    ]
    return letters


def endpoints_body(start: datetime, end: datetime, size: int = 10, min_requests: int = 3) -> Body:
    """Busiest ``url.path`` by requests and slowest by mean ``event.duration``."""
    durations = {
        "avg_duration": {"avg": {"field": "event.duration"}},
        "p95_duration": {"percentiles": {"field": "event.duration", "percents": [95]}},
    }
    return {
        "size": 0,
        "query": {"bool": {"filter": [time_filter(start, end), {"exists": {"field": "url.path"}}]}},
        "aggs": {
            "busiest": {"terms": {"field": "url.path", "size": size}, "aggs": durations},
            "slowest": {
                "terms": {
                    "field": "url.path",
                    "size": size,
                    "min_doc_count": min_requests,
                    "order": {"avg_duration": "desc"},
                },
                "aggs": durations,
            },
        },
    }


def _endpoints(buckets: Iterable[Mapping[str, Any]]) -> list[Endpoint]:
    out = []
    for b in buckets:
        avg = b["avg_duration"]["value"]
        p95 = b["p95_duration"]["values"].get("95.0")
        out.append(
            Endpoint(
                path=str(b["key"]),
                count=int(b["doc_count"]),
                avg_ms=avg / _NS_PER_MS if avg is not None else None,
                p95_ms=p95 / _NS_PER_MS if p95 is not None else None,
            )
        )
    return out


def parse_endpoints(answer: Mapping[str, Any]) -> tuple[list[Endpoint], list[Endpoint]]:
    """(busiest, slowest); durations converted from nanoseconds to milliseconds."""
    aggs = answer["aggregations"]
    slowest = [e for e in _endpoints(aggs["slowest"]["buckets"]) if e.avg_ms is not None]
    return _endpoints(aggs["busiest"]["buckets"]), slowest


ERROR_LINE_FIELDS: tuple[str, ...] = (
    "@timestamp",
    "message",
    "error.message",
    "service.name",
    "event.id",
)
