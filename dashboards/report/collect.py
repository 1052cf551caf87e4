"""The thin shell of the weekly review: run the queries, mine the errors, fill the model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch

from bitacora import schema
from bitacora.dashboards.report import queries as q
from bitacora.dashboards.report.health import HEALTH_FIELDS, summarize_health
from bitacora.dashboards.report.model import DeadLetters, LagStats, Week, WeeklyReport
from bitacora.dashboards.report.patterns import ErrorLine, mine
from bitacora.fields import lookup
from bitacora.search.client import stream_hits, translated_errors
from bitacora.search.query import SearchParams
from bitacora.search.timeparse import parse_event_time

Progress = Callable[[str], None]
_LENIENT = {"ignore_unavailable": "true", "allow_no_indices": "true"}


@dataclass(frozen=True)
class ReportIndices:
    """Where the report reads from (tests point these at their own streams)."""

    logs: str = schema.LOGS_PATTERN
    alerts: str = schema.ALERTS_PATTERN
    deadletter: str = schema.DEADLETTER_PATTERN


def _search(client: OpenSearch, index: str, body: q.Body) -> dict[str, Any] | None:
    """The answer, or None when no index matched (then there are no aggregations)."""
    answer: dict[str, Any] = client.search(index=index, body=body, params=_LENIENT)
    return answer if "aggregations" in answer or body.get("size", 10) > 0 else None


def error_lines(
    client: OpenSearch, index: str, start: datetime, end: datetime, limit: int
) -> Iterator[ErrorLine]:
    """Error events oldest first, as the pattern miner needs them (streamed)."""
    params = SearchParams(
        index=index, start=start, end=end, level="error", fields=q.ERROR_LINE_FIELDS
    )
    for hit in stream_hits(client, params, limit=limit, forward=True):
        source = hit["_source"]
        text = lookup(source, "error.message") or lookup(source, "message") or ""
        stamp = str(lookup(source, "@timestamp"))
        yield ErrorLine(
            timestamp=datetime.fromtimestamp(parse_event_time(stamp) / 1e9, UTC),
            message=str(text).splitlines()[0] if text else "",
            service=str(lookup(source, "service.name") or ""),
            event_id=str(lookup(source, "event.id") or hit["_id"]),
        )


def build_report(
    client: OpenSearch,
    week: Week,
    *,
    indices: ReportIndices = ReportIndices(),
    progress: Progress = lambda _: None,
    now: datetime | None = None,
    max_messages: int = 200_000,
    health_services: tuple[str, ...] = ("health-check",),
) -> WeeklyReport:
    """Query everything the weekly review shows for ``week`` (compared with the week before).

    ``progress`` receives one line per step (the CLI prints them on stderr).
    """
    report = WeeklyReport(week=week, generated_at=now or datetime.now(UTC))
    prev = week.previous
    with translated_errors():
        progress(f"events and errors per service per day ({prev.label} and {week.label})")
        answer = _search(client, indices.logs, q.service_daily_body(week))
        report.services = q.parse_service_daily(answer, week) if answer else []

        progress("top error types")
        current = _search(client, indices.logs, q.error_types_body(week.start, week.end))
        before = _search(client, indices.logs, q.error_types_body(prev.start, prev.end, size=500))
        if current and before:
            report.error_types = q.parse_error_types(current, before)

        progress("mining error messages for new patterns")
        counter = {"n": 0}

        def counted(lines: Iterator[ErrorLine]) -> Iterator[ErrorLine]:
            for line in lines:
                counter["n"] += 1
                if counter["n"] % 20_000 == 0:
                    progress(f"  {counter['n']} error messages mined")
                yield line

        report.patterns = mine(
            counted(error_lines(client, indices.logs, prev.start, prev.end, max_messages)),
            counted(error_lines(client, indices.logs, week.start, week.end, max_messages)),
        )
        report.mined_messages = counter["n"]
        progress(f"  {len(report.patterns)} patterns, {len(report.new_patterns)} new this week")

        progress("alerts fired and time to resolve")
        alerts = _search(client, indices.alerts, q.alerts_body(week))
        hits = alerts["hits"]["hits"] if alerts else []
        report.alerts = q.summarize_alerts((h["_source"] for h in hits), week)

        progress("ingest lag")
        lag = _search(client, indices.logs, q.lag_body(week.start, week.end))
        report.lag = q.parse_lag(lag) if lag else LagStats()
        lag = _search(client, indices.logs, q.lag_body(prev.start, prev.end))
        report.prev_lag = q.parse_lag(lag) if lag else LagStats()

        progress("dead letters")
        letters = _search(client, indices.deadletter, q.deadletter_body(week))
        report.deadletters = q.parse_deadletters(letters, week) if letters else DeadLetters()

        progress("busiest and slowest endpoints")
        endpoints = _search(client, indices.logs, q.endpoints_body(week.start, week.end))
        if endpoints:
            report.busiest, report.slowest = q.parse_endpoints(endpoints)

        if health_services:
            progress("health checks per service")
            params = SearchParams(
                index=indices.logs,
                start=week.start,
                end=week.end,
                services=health_services,
                fields=HEALTH_FIELDS,
            )
            hits = stream_hits(client, params, limit=max_messages, forward=True)
            report.health_checks = summarize_health(hit["_source"] for hit in hits)
    progress("done")
    return report
