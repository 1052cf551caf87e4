"""Render a ``WeeklyReport`` as one self-contained HTML page (inline CSS and SVG, no JS)."""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from bitacora.dashboards.charts import Series, horizontal_bars, vertical_bars
from bitacora.dashboards.report.model import ServiceTrend, WeeklyReport, change

TEMPLATES_DIR = Path(__file__).parent / "templates"
NO_VALUE = "\u2013"  # an en dash: "no data", distinct from a zero
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Bar colours: this week strong, the previous week pale beside it.
THIS_WEEK = "#2563eb"
PREVIOUS_WEEK = "#cbd5e1"
ERRORS = "#dc2626"
PREVIOUS_ERRORS = "#fca5a5"
DEADLETTER = "#9333ea"
ENDPOINT = "#0d9488"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        # Log text reaches the page: escape everything, mark only our own SVG as safe.
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["change"] = _format_change
    env.filters["ms"] = _format_ms
    env.filters["duration"] = _format_duration
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env


def _format_change(pair: tuple[float, float]) -> str:
    pct = change(*pair)
    if pct is None:
        return "new" if pair[0] else NO_VALUE
    return f"{pct:+.0f}%"


def _format_ms(value: float | None) -> str:
    if value is None:
        return NO_VALUE
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _format_duration(seconds: float | None) -> str:
    if seconds is None:
        return NO_VALUE
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def service_chart(trend: ServiceTrend) -> Markup:
    """Events and errors per day of one service, this week against the previous one."""
    svg = vertical_bars(
        _WEEKDAYS,
        [
            Series("events (previous week)", trend.prev_events, PREVIOUS_WEEK),
            Series("events", trend.events, THIS_WEEK),
            Series("errors (previous week)", trend.prev_errors, PREVIOUS_ERRORS),
            Series("errors", trend.errors, ERRORS),
        ],
        title=f"{trend.service}: events and errors per day",
        width=520,
        height=180,
    )
    return Markup(svg)  # every label escaped by the chart functions


def report_charts(report: WeeklyReport) -> dict[str, Markup]:
    """Every chart of the page, keyed by name (services under ``service:<name>``)."""
    totals_events = [sum(s.events[d] for s in report.services) for d in range(7)]
    totals_prev = [sum(s.prev_events[d] for s in report.services) for d in range(7)]
    errors = [sum(s.errors[d] for s in report.services) for d in range(7)]
    errors_prev = [sum(s.prev_errors[d] for s in report.services) for d in range(7)]
    out = {
        "overview": vertical_bars(
            _WEEKDAYS,
            [
                Series("events (previous week)", totals_prev, PREVIOUS_WEEK),
                Series("events", totals_events, THIS_WEEK),
            ],
            title="All events per day",
        ),
        "errors": vertical_bars(
            _WEEKDAYS,
            [
                Series("errors (previous week)", errors_prev, PREVIOUS_ERRORS),
                Series("errors", errors, ERRORS),
            ],
            title="Errors per day",
        ),
        "error_types": horizontal_bars(
            [(t.name, t.count) for t in report.error_types],
            colour=ERRORS,
            title="Top error types",
        ),
        "deadletters": vertical_bars(
            _WEEKDAYS,
            [
                Series("previous week", report.deadletters.prev_per_day, PREVIOUS_WEEK),
                Series("dead letters", report.deadletters.per_day, DEADLETTER),
            ],
            title="Dead letters per day",
            height=160,
        ),
        "busiest": horizontal_bars(
            [(e.path, e.count) for e in report.busiest],
            colour=ENDPOINT,
            title="Busiest endpoints",
        ),
        "slowest": horizontal_bars(
            [(e.path, e.avg_ms or 0.0) for e in report.slowest],
            colour=ENDPOINT,
            title="Slowest endpoints (mean)",
            value_format=_format_ms,
        ),
    }
    marked = {name: Markup(svg) for name, svg in out.items()}  # escaped by the chart functions
    for trend in report.services:
        marked[f"service:{trend.service}"] = service_chart(trend)
    return marked


def render_html(report: WeeklyReport) -> str:
    """The weekly review page."""
    template = _environment().get_template("weekly.html.j2")
    return template.render(
        report=report,
        charts=report_charts(report),
        days=[f"{_WEEKDAYS[i]} {d:%d %b}" for i, d in enumerate(report.week.days)],
        colours={
            "this": THIS_WEEK,
            "prev": PREVIOUS_WEEK,
            "errors": ERRORS,
            "prev_errors": PREVIOUS_ERRORS,
        },
    )
