"""The weekly review over planted data: the new pattern, the error increase, the charts.

Two ISO weeks (2026-W45 and the reviewed 2026-W46) are planted with explicit timestamps in
private data streams: steady traffic, a tenfold rise of one service's timeouts, a brand-new
"stock reservation" error from Wednesday 10:15, alerts with known times to resolve, dead
letters, and endpoints with known durations.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch

from bitacora.cli import main
from bitacora.dashboards.report import render
from bitacora.dashboards.report.collect import ReportIndices, build_report
from bitacora.dashboards.report.model import Week, WeeklyReport
from bitacora.dashboards.report.render import render_html
from tests.helpers import seed
from tests.helpers.png import decode, hex_rgb

pytestmark = pytest.mark.stack

WEEK = Week.parse("2026-W46")
PREV = WEEK.previous
NEW_START = WEEK.start + timedelta(days=2, hours=10, minutes=15)  # Wednesday 10:15
NEW_TEMPLATE = "stock reservation <UUID> rejected: warehouse <ID> offline"
CHROMIUM_HINT = "apt-get update && apt-get install -y chromium"


def _planted_logs() -> Iterator[seed.Event]:
    n = 0

    def ev(ts: datetime, service: str, lag_ms: int, **kw: object) -> seed.Event:
        nonlocal n
        n += 1
        ingested = ts + timedelta(milliseconds=lag_ms)
        return seed.event(
            ts,
            service=service,
            event_id=f"wk-{n:06d}",
            event__ingested=ingested.isoformat().replace("+00:00", "Z"),
            **kw,  # type: ignore[arg-type]
        )

    for week, lag in ((PREV, 800), (WEEK, 1500)):
        current = week == WEEK
        for d in range(7):
            day = week.start + timedelta(days=d)
            for k in range(40):
                yield ev(day + timedelta(minutes=30 * k, seconds=1), "alpha-svc", lag,
                         message=f"GET /api/orders 200 #{k}", url__path="/api/orders",
                         event__duration=20_000_000)  # fmt: skip
            for k in range(30):
                yield ev(day + timedelta(minutes=40 * k, seconds=2), "beta-svc", lag,
                         message="GET /api/reviews 200", url__path="/api/reviews",
                         event__duration=80_000_000)  # fmt: skip
            for k in range(5):
                yield ev(day + timedelta(hours=3 * k, seconds=3), "alpha-svc", lag,
                         message="POST /api/checkout 200", url__path="/api/checkout",
                         event__duration=300_000_000)  # fmt: skip
            timeouts = 12 if current else 2  # the planted increase
            for k in range(timeouts):
                yield ev(day + timedelta(hours=1 + k, seconds=4), "alpha-svc", lag, level="error",
                         message=f"timeout calling inventory after {100 + k * 7}ms",
                         error__type="TimeoutError")  # fmt: skip
            yield ev(day + timedelta(hours=20, seconds=5), "beta-svc", lag, level="error",
                     message=f"db connection reset by peer 10.0.3.{d + 1}",
                     error__type="ConnectionResetError")  # fmt: skip
            if current and d >= 2:
                first = NEW_START if d == 2 else day + timedelta(hours=10, minutes=15)
                for k in range(6):
                    yield ev(first + timedelta(minutes=k), "alpha-svc", lag, level="error",
                             message=f"stock reservation {uuid.UUID(int=d * 100 + k)} rejected: "
                             f"warehouse wh-{k}a offline",
                             error__type="StockError")  # fmt: skip


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _planted_alerts() -> list[dict[str, object]]:
    wed, thu, fri = (WEEK.start + timedelta(days=d) for d in (2, 3, 4))
    fire1, fire2, fire3 = (
        wed + timedelta(hours=10, minutes=20),
        thu + timedelta(hours=9),
        fri + timedelta(hours=12),
    )
    done1, done2 = fire1 + timedelta(minutes=30), fire2 + timedelta(minutes=10)

    def alert(
        at: datetime, rule: str, key: str, status: str, first: datetime, done: datetime | None
    ) -> dict[str, object]:
        # The shape of rules.alerts.Alert.to_document(): flat fields, @timestamp = created_at.
        return {
            "@timestamp": _iso(at),
            "created_at": _iso(at),
            "id": uuid.uuid4().hex,
            "rule": rule,
            "key": key,
            "dedup_key": f"{rule}.{key}",
            "status": status,
            "severity": "error",
            "count": 10,
            "first_event_time": _iso(first),
            "last_event_time": _iso(done or at),
        }

    return [
        alert(fire1, "error-burst", "alpha-svc", "firing", fire1, None),
        alert(done1, "error-burst", "alpha-svc", "resolved", fire1, done1),
        alert(fire2, "error-burst", "alpha-svc", "firing", fire2, None),
        alert(done2, "error-burst", "alpha-svc", "resolved", fire2, done2),
        alert(fire3, "service-silent", "beta-svc", "firing", fire3, None),
        # Last week's alert: not counted.
        alert(
            PREV.start + timedelta(days=1), "error-burst", "alpha-svc", "firing", PREV.start, None
        ),
    ]


def _planted_deadletters() -> list[dict[str, object]]:
    docs: list[dict[str, object]] = []
    for d in range(7):
        at = _iso(PREV.start + timedelta(days=d, hours=5))
        docs.append(
            {"@timestamp": at, "deadletter.stage": "normalize", "deadletter.reason": "invalid json"}
        )
    for d, count, stage, reason in (
        (0, 3, "normalize", "invalid json"),
        (3, 5, "index", "field too large"),
    ):
        for k in range(count):
            docs.append({"@timestamp": _iso(WEEK.start + timedelta(days=d, hours=6, minutes=k)),
                         "deadletter.stage": stage, "deadletter.reason": reason})  # fmt: skip
    return docs


@pytest.fixture(scope="module")
def planted(opensearch_url: str) -> Iterator[tuple[OpenSearch, ReportIndices]]:
    client = OpenSearch(hosts=[opensearch_url], timeout=120)
    with seed.installed(client, seed.new_streams()) as streams:
        seed.index_logs(client, streams, _planted_logs())
        seed.bulk(client, _planted_alerts(), lambda _: streams.alerts)
        seed.bulk(client, _planted_deadletters(), lambda _: streams.deadletter)
        client.indices.refresh(index=f"{streams.alerts},{streams.deadletter}")
        yield (
            client,
            ReportIndices(
                logs=streams.logs, alerts=streams.alerts + "*", deadletter=streams.deadletter + "*"
            ),
        )
    client.close()


@pytest.fixture(scope="module")
def report(planted: tuple[OpenSearch, ReportIndices]) -> WeeklyReport:
    client, indices = planted
    steps: list[str] = []
    result = build_report(
        client, WEEK, indices=indices, progress=steps.append, now=datetime(2026, 11, 17, tzinfo=UTC)
    )
    assert steps[0].startswith("events and errors per service per day (2026-W45 and 2026-W46)")
    assert steps[-1] == "done"
    return result


def test_error_increase_is_what_got_worse(report: WeeklyReport) -> None:
    alpha, beta = report.services
    assert (alpha.service, beta.service) == ("alpha-svc", "beta-svc")
    assert alpha.prev_errors == [2] * 7
    assert alpha.errors == [12, 12, 18, 18, 18, 18, 18]
    assert beta.errors == beta.prev_errors == [1] * 7
    assert alpha.events == [45 + 12, 45 + 12, 45 + 18, 45 + 18, 45 + 18, 45 + 18, 45 + 18]
    assert alpha.prev_events == [47] * 7
    assert beta.events == beta.prev_events == [31] * 7
    assert [s.service for s in report.worse_services] == ["alpha-svc"]
    assert (report.total_errors, report.prev_total_errors) == (114 + 7, 14 + 7)


def test_the_planted_new_pattern_is_new(report: WeeklyReport) -> None:
    [new] = report.new_patterns
    assert new.template == NEW_TEMPLATE
    assert new.count == 30
    assert new.prev_count == 0
    assert new.first_seen == NEW_START
    assert new.services == {"alpha-svc": 30}
    assert [s.message for s in new.samples] == [
        f"stock reservation {uuid.UUID(int=200 + k)} rejected: warehouse wh-{k}a offline"
        for k in range(3)
    ]
    assert all(s.event_id.startswith("wk-") for s in new.samples)
    old = {p.template: (p.count, p.prev_count) for p in report.patterns if not p.is_new}
    assert old == {
        "timeout calling inventory after <NUM>": (84, 14),
        "db connection reset by peer <IP>": (7, 7),
    }
    assert report.mined_messages == 121 + 21


def test_error_types_alerts_lag_deadletters_endpoints(report: WeeklyReport) -> None:
    assert [(t.name, t.count, t.prev_count) for t in report.error_types] == [
        ("TimeoutError", 84, 14),
        ("StockError", 30, 0),
        ("ConnectionResetError", 7, 7),
    ]
    assert [
        (a.rule, a.fired, a.resolved, a.median_resolve_s, a.max_resolve_s) for a in report.alerts
    ] == [
        ("error-burst", 2, 2, 1200.0, 1800.0),
        ("service-silent", 1, 0, None, None),
    ]
    assert (report.lag.p50_ms, report.lag.p99_ms, report.lag.max_ms) == (1500.0, 1500.0, 1500.0)
    assert (report.prev_lag.p50_ms, report.prev_lag.max_ms) == (800.0, 800.0)
    assert report.lag.count == 7 * 75 + 84 + 7 + 30
    assert report.deadletters.per_day == [3, 0, 0, 5, 0, 0, 0]
    assert report.deadletters.prev_per_day == [1] * 7
    assert report.deadletters.by_stage == [("index", 5), ("normalize", 3)]
    assert report.deadletters.top_reasons == [("field too large", 5), ("invalid json", 3)]
    assert [(e.path, e.count, e.avg_ms) for e in report.busiest] == [
        ("/api/orders", 280, 20.0),
        ("/api/reviews", 210, 80.0),
        ("/api/checkout", 35, 300.0),
    ]
    assert [e.path for e in report.slowest] == ["/api/checkout", "/api/reviews", "/api/orders"]


def test_html_shows_the_new_pattern_and_the_increase(report: WeeklyReport) -> None:
    html = render_html(report)
    assert "stock reservation &lt;UUID&gt; rejected: warehouse &lt;ID&gt; offline" in html
    assert "Wed 11 Nov 10:15:00" in html  # first seen
    assert '<div class="value" id="new-pattern-count">1</div>' in html
    assert '<div class="value" id="total-errors">121</div>' in html
    worse = html[
        html.index('<table id="worse">') : html.index("</table>", html.index('<table id="worse">'))
    ]
    assert "alpha-svc" in worse
    assert "beta-svc" not in worse
    assert '<td class="n">114</td><td class="n">14</td>' in worse
    assert "+714%" in worse
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert html.count("<svg") == 6 + 2  # six page charts and one per service


def test_cli_writes_the_page_with_progress(
    planted: tuple[OpenSearch, ReportIndices], opensearch_url: str, tmp_path: Path
) -> None:
    _, indices = planted
    target = tmp_path / "weekly.html"
    result = CliRunner().invoke(
        main,
        [
            "report",
            "weekly",
            "--week",
            "2026-W46",
            "--out-file",
            str(target),
            "--index",
            indices.logs,
            "--alerts-index",
            indices.alerts,
            "--deadletter-index",
            indices.deadletter,
        ],
        env={"BITACORA_OPENSEARCH_URL": opensearch_url},
    )
    assert result.exit_code == 0, result.output
    assert "  mining error messages for new patterns" in result.stderr
    assert "  3 patterns, 1 new this week" in result.stderr
    assert result.stdout == ""
    assert NEW_TEMPLATE.replace("<", "&lt;").replace(">", "&gt;") in target.read_text()
    bad = CliRunner().invoke(main, ["report", "weekly", "--week", "2026-W60"])
    assert bad.exit_code == 2
    assert "2026 has no week 60" in bad.output


def test_screenshot_in_headless_chromium_shows_the_charts(
    report: WeeklyReport, tmp_path: Path
) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail(f"chromium is missing: install it with `{CHROMIUM_HINT}`", pytrace=False)
    page = tmp_path / "weekly.html"
    page.write_text(render_html(report), encoding="utf-8")
    shot = tmp_path / "weekly.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,4800",  # taller than the whole page
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = decode(shot.read_bytes())
    assert (image.width, image.height) == (1280, 4800)
    colours = image.colours()
    # Bars are drawn crisp in exact colours: each chart colour covers a real area.
    assert colours[hex_rgb(render.THIS_WEEK)] > 5_000
    assert colours[hex_rgb(render.ERRORS)] > 2_000
    assert colours[hex_rgb(render.PREVIOUS_WEEK)] > 5_000
    assert colours[hex_rgb(render.ENDPOINT)] > 1_000
    assert len(colours) > 200  # text, legends and bars, not a blank page
