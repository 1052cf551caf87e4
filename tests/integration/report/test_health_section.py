"""The weekly review's health-check section over planted health-check events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opensearchpy import OpenSearch

from bitacora.dashboards.report.collect import ReportIndices, build_report
from bitacora.dashboards.report.health import HealthCheckRow
from bitacora.dashboards.report.model import Week
from bitacora.dashboards.report.render import render_html
from bitacora.search.timeparse import to_nanos, to_rfc3339_nanos
from tests.helpers import seed

pytestmark = pytest.mark.stack

WEEK = Week.parse("2026-W46")


def _checks() -> Iterator[seed.Event]:
    # Every 5 minutes for a day: three services checked; order-service fails 4 times.
    for run in range(288):
        at = WEEK.start + timedelta(days=1, minutes=5 * run)
        for service in ("user-service", "order-service", "postgres"):
            failing = service == "order-service" and run in (10, 11, 12, 200)
            status = "fail" if failing else "ok"
            yield seed.event(
                at,
                service="health-check",
                level="error" if failing else "info",
                message=f"{service}: {status.upper()}",
                labels={"check": {"service": service, "status": status}},
            )
    # Last week's failure and an unrelated service's line with check-like labels: not counted.
    yield seed.event(
        WEEK.start - timedelta(days=1),
        service="health-check",
        labels={"check": {"service": "order-service", "status": "fail"}},
    )
    yield seed.event(
        WEEK.start + timedelta(days=2),
        service="other",
        labels={"check": {"service": "order-service", "status": "fail"}},
    )


@pytest.fixture(scope="module")
def planted(opensearch_url: str) -> Iterator[tuple[OpenSearch, ReportIndices]]:
    client = OpenSearch(hosts=[opensearch_url], timeout=120)
    with seed.installed(client, seed.new_streams()) as streams:
        seed.index_logs(client, streams, _checks())
        yield client, ReportIndices(logs=streams.logs, alerts=streams.alerts + "*",
                                    deadletter=streams.deadletter + "*")  # fmt: skip
    client.close()


def test_checks_and_failures_per_service(planted: tuple[OpenSearch, ReportIndices]) -> None:
    client, indices = planted
    report = build_report(client, WEEK, indices=indices, now=datetime(2026, 11, 17, tzinfo=UTC))
    last = to_rfc3339_nanos(to_nanos(WEEK.start + timedelta(days=1, minutes=5 * 200)))
    assert report.health_checks == [
        HealthCheckRow("order-service", 288, 4, last),
        HealthCheckRow("postgres", 288, 0, None),
        HealthCheckRow("user-service", 288, 0, None),
    ]
    html = render_html(report)
    assert '<table id="health-checks">' in html
    assert "<td>order-service</td>" in html
