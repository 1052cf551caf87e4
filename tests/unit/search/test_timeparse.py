"""Durations, instants and time zones of `bitacora search`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bitacora.durations import parse_duration
from bitacora.search.timeparse import (
    format_display,
    parse_event_time,
    parse_instant,
    parse_timezone,
    to_nanos,
    to_rfc3339_nanos,
)

NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(days=14)),
        ("500ms", timedelta(milliseconds=500)),
        ("1.5h", timedelta(minutes=90)),
        (" 30s ", timedelta(seconds=30)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected.total_seconds()


@pytest.mark.parametrize("text", ["", "15", "m", "1y", "-1h", "1 hour"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("now-2h", NOW - timedelta(hours=2)),
        ("now+15m", NOW + timedelta(minutes=15)),
        ("NOW - 1d", NOW - timedelta(days=1)),
        ("2h", NOW - timedelta(hours=2)),
        ("2026-11-27T08:30:00Z", datetime(2026, 11, 27, 8, 30, tzinfo=UTC)),
        ("2026-11-27T08:30:00+02:00", datetime(2026, 11, 27, 6, 30, tzinfo=UTC)),
        ("2026-11-27T08:30:00.123456789Z", datetime(2026, 11, 27, 8, 30, 0, 123456, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    assert parse_instant(text, NOW) == expected


def test_parse_instant_reads_naive_times_in_the_zone() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    assert parse_instant("2026-11-27T08:30:00", NOW, madrid) == datetime(
        2026, 11, 27, 7, 30, tzinfo=UTC
    )


def test_parse_instant_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="bad time 'yesterday'"):
        parse_instant("yesterday", NOW)


def test_parse_timezone() -> None:
    assert parse_timezone(None) is UTC
    assert parse_timezone("utc") is UTC
    assert parse_timezone("+02:00") == timezone(timedelta(hours=2))
    assert parse_timezone("-0530") == timezone(-timedelta(hours=5, minutes=30))
    assert parse_timezone("Europe/Madrid") == ZoneInfo("Europe/Madrid")
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_timezone("Mars/Olympus")


def test_nanos_round_trip() -> None:
    ns = to_nanos(datetime(2026, 11, 27, 8, 30, 1, 250000, tzinfo=UTC)) + 789
    assert to_rfc3339_nanos(ns) == "2026-11-27T08:30:01.250000789Z"
    assert parse_event_time("2026-11-27T08:30:01.250000789Z") == ns
    assert parse_event_time("2026-11-27T08:30:01.25Z") == ns - 789
    assert parse_event_time("2026-11-27T09:30:01.250000789+01:00") == ns


def test_format_display() -> None:
    value = "2026-11-27T08:30:01.250000789Z"
    assert format_display(value, UTC) == "2026-11-27 08:30:01.250Z"
    assert format_display(value, ZoneInfo("Europe/Madrid")) == "2026-11-27 09:30:01.250+0100"
    assert format_display("not a time", UTC) == "not a time"
