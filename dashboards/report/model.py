"""The weekly review as plain data: what the queries found, ready for the template."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from bitacora.dashboards.report.patterns import PatternStats

if TYPE_CHECKING:
    from bitacora.dashboards.report.health import HealthCheckRow

DAYS = 7


@dataclass(frozen=True)
class Week:
    """An ISO week in UTC: ``start`` is Monday 00:00, ``end`` the next Monday (exclusive)."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """``2026-W48`` (or ``2026W48``) → the week; raises ``ValueError`` otherwise."""
        match = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text.strip(), re.IGNORECASE)
        if not match:
            raise ValueError(f"bad week {text!r}: expected an ISO week like 2026-W48")
        week = cls(int(match.group(1)), int(match.group(2)))
        try:
            week.start  # noqa: B018  # validates the week number
        except ValueError as exc:
            raise ValueError(f"bad week {text!r}: {week.year} has no week {week.number}") from exc
        return week

    @classmethod
    def containing(cls, moment: datetime) -> Week:
        """The ISO week a moment falls in."""
        iso = moment.astimezone(UTC).isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def last_complete(cls, now: datetime) -> Week:
        """The latest week that has ended: the default of ``bitacora report weekly``."""
        return cls.containing(now - timedelta(days=7))

    @property
    def start(self) -> datetime:
        """Monday 00:00 UTC."""
        day = date.fromisocalendar(self.year, self.number, 1)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The following Monday 00:00 UTC (exclusive)."""
        return self.start + timedelta(days=DAYS)

    @property
    def previous(self) -> Week:
        """The week before."""
        return Week.containing(self.start - timedelta(days=1))

    @property
    def label(self) -> str:
        """``2026-W48``."""
        return f"{self.year}-W{self.number:02d}"

    @property
    def days(self) -> list[date]:
        """Monday to Sunday."""
        return [(self.start + timedelta(days=i)).date() for i in range(DAYS)]


def change(current: float, previous: float) -> float | None:
    """Relative change in percent; ``None`` when there was nothing before."""
    if previous == 0:
        return None
    return (current - previous) * 100.0 / previous


@dataclass
class ServiceTrend:
    """Events and errors of one service per day, this week and the previous one."""

    service: str
    events: list[int] = field(default_factory=lambda: [0] * DAYS)
    errors: list[int] = field(default_factory=lambda: [0] * DAYS)
    prev_events: list[int] = field(default_factory=lambda: [0] * DAYS)
    prev_errors: list[int] = field(default_factory=lambda: [0] * DAYS)

    @property
    def total_events(self) -> int:
        return sum(self.events)

    @property
    def total_errors(self) -> int:
        return sum(self.errors)

    @property
    def prev_total_events(self) -> int:
        return sum(self.prev_events)

    @property
    def prev_total_errors(self) -> int:
        return sum(self.prev_errors)

    @property
    def error_change(self) -> float | None:
        """Errors this week vs last, in percent."""
        return change(self.total_errors, self.prev_total_errors)

    @property
    def got_worse(self) -> bool:
        """More errors than last week by at least half (or any, from none), and at least 5."""
        if self.total_errors < 5:
            return False
        pct = self.error_change
        return pct is None or pct >= 50.0


@dataclass(frozen=True)
class ErrorType:
    """An ``error.type`` and how often it occurred."""

    name: str
    count: int
    prev_count: int
    services: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class AlertSummary:
    """One rule's alerts this week."""

    rule: str
    fired: int
    resolved: int
    median_resolve_s: float | None
    max_resolve_s: float | None

    @property
    def open(self) -> int:
        return max(self.fired - self.resolved, 0)


@dataclass(frozen=True)
class LagStats:
    """Ingest lag (``event.ingested - @timestamp``) percentiles in milliseconds."""

    count: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None


@dataclass
class DeadLetters:
    """Dead letters per day and by stage and reason."""

    per_day: list[int] = field(default_factory=lambda: [0] * DAYS)
    prev_per_day: list[int] = field(default_factory=lambda: [0] * DAYS)
    by_stage: list[tuple[str, int]] = field(default_factory=list)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.per_day)

    @property
    def prev_total(self) -> int:
        return sum(self.prev_per_day)


@dataclass(frozen=True)
class Endpoint:
    """A ``url.path`` with its request count and durations in milliseconds."""

    path: str
    count: int
    avg_ms: float | None
    p95_ms: float | None


@dataclass
class WeeklyReport:
    """Everything the weekly review page shows."""

    week: Week
    generated_at: datetime
    services: list[ServiceTrend] = field(default_factory=list)
    error_types: list[ErrorType] = field(default_factory=list)
    patterns: list[PatternStats] = field(default_factory=list)
    alerts: list[AlertSummary] = field(default_factory=list)
    lag: LagStats = field(default_factory=LagStats)
    prev_lag: LagStats = field(default_factory=LagStats)
    deadletters: DeadLetters = field(default_factory=DeadLetters)
    busiest: list[Endpoint] = field(default_factory=list)
    slowest: list[Endpoint] = field(default_factory=list)
    health_checks: list[HealthCheckRow] = field(default_factory=list)
    mined_messages: int = 0

    @property
    def new_patterns(self) -> list[PatternStats]:
        """Error patterns first seen this week, most frequent first."""
        return [p for p in self.patterns if p.is_new]

    @property
    def worse_services(self) -> list[ServiceTrend]:
        """Services whose errors grew markedly, the biggest growth first."""
        worse = [s for s in self.services if s.got_worse]
        return sorted(worse, key=lambda s: -(s.total_errors - s.prev_total_errors))

    @property
    def total_events(self) -> int:
        return sum(s.total_events for s in self.services)

    @property
    def total_errors(self) -> int:
        return sum(s.total_errors for s in self.services)

    @property
    def prev_total_events(self) -> int:
        return sum(s.prev_total_events for s in self.services)

    @property
    def prev_total_errors(self) -> int:
        return sum(s.prev_total_errors for s in self.services)
