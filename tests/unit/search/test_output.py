"""Lines printed by `bitacora search`."""

from __future__ import annotations

import json
from datetime import UTC
from zoneinfo import ZoneInfo

from bitacora.search.output import bar, format_event, render_histogram, use_colour

EVENT = {
    "@timestamp": "2026-11-27T08:30:01.250000789Z",
    "log.level": "error",
    "service.name": "order-service",
    "message": "payment failed\nretrying",
    "event.duration": 1500,
    "labels": {"k": "v"},
}


def test_table() -> None:
    assert format_event(EVENT, "table") == (
        "2026-11-27 08:30:01.250Z  ERROR  order-service  payment failed\\nretrying"
    )
    assert format_event(EVENT, "table", tz=ZoneInfo("Europe/Madrid")).startswith(
        "2026-11-27 09:30:01.250+0100  ERROR"
    )


def test_table_with_fields_and_colour() -> None:
    assert format_event(EVENT, "table", fields=("service.name", "event.duration", "labels")) == (
        'order-service  1500  {"k":"v"}'
    )
    coloured = format_event(EVENT, "table", colour=True)
    assert "\x1b[1;31mERROR\x1b[0m" in coloured
    assert "\x1b[" not in format_event(EVENT, "table", colour=False)


def test_jsonl_and_raw() -> None:
    assert json.loads(format_event(EVENT, "jsonl")) == EVENT
    assert (
        format_event(EVENT, "jsonl", fields=("log.level", "missing"))
        == '{"log.level":"error","missing":null}'
    )
    assert format_event(EVENT, "raw") == "payment failed\\nretrying"
    assert format_event(EVENT, "raw", fields=("log.level", "event.duration")) == "error\t1500"


def test_use_colour() -> None:
    assert use_colour(True, {})
    assert not use_colour(False, {})
    assert not use_colour(True, {"NO_COLOR": "1"})
    assert use_colour(True, {"NO_COLOR": ""})
    assert not use_colour(True, {"TERM": "dumb"})


def test_bar_eighths() -> None:
    assert bar(0, 10, 10) == ""
    assert bar(10, 10, 10) == "█" * 10
    assert bar(5, 10, 10) == "█" * 5
    assert bar(8, 80, 10) == "█"
    assert bar(4, 80, 10) == "▌"
    assert bar(12, 80, 10) == "█▌"
    assert bar(1, 10_000, 10) == "▏"  # never invisible


def test_histogram_lines() -> None:
    day = 86_400_000
    start = 1_795_132_800_000
    lines = render_histogram(
        [(start, 4), (start + day, 0), (start + 2 * day, 2)], interval_s=86400, width=4
    )
    assert lines == [
        "2026-11-20  4  ████",
        "2026-11-21  0",
        "2026-11-22  2  ██",
        "total 6 in 3 buckets",
    ]
    hourly = render_histogram([(start, 1)], interval_s=3600, tz=UTC, width=2)
    assert hourly[0] == "2026-11-20 00:00  1  ██"
