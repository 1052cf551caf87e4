"""Level spellings → canonical level and OTel severity."""

from __future__ import annotations

import pytest

from bitacora.processors.normalize.levels import Scale, level_from_status, parse_level
from tests.unit.normalize.support import raw

SEVERITY = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}

SPELLINGS: list[tuple[object, Scale, str | None]] = [
    ("TRACE", "auto", "trace"),
    ("verbose", "auto", "trace"),
    ("DEBUG", "auto", "debug"),
    ("dbg", "auto", "debug"),
    ("D", "auto", "debug"),
    ("info", "auto", "info"),
    ("Information", "auto", "info"),
    ("I", "auto", "info"),
    ("NOTICE", "auto", "info"),
    ("WARNING", "auto", "warn"),
    ("warn", "auto", "warn"),
    ("W", "auto", "warn"),
    ("WRN", "auto", "warn"),
    ("ERR", "auto", "error"),
    ("E", "auto", "error"),
    ("ERROR", "auto", "error"),
    ("error ", "auto", "error"),
    ("SEVERE", "auto", "error"),
    ("CRITICAL", "auto", "fatal"),
    ("FATAL", "auto", "fatal"),
    ("F", "auto", "fatal"),
    ("PANIC", "auto", "fatal"),
    ("EMERG", "auto", "fatal"),
    ("ALERT", "auto", "fatal"),
    ("CRIT", "auto", "fatal"),
    ("dpanic", "auto", "fatal"),
    # PostgreSQL
    ("LOG", "auto", "info"),
    ("DEBUG1", "auto", "debug"),
    ("DEBUG5", "auto", "debug"),
    # MongoDB "s"
    ("D1", "auto", "debug"),
    ("D5", "auto", "debug"),
    # syslog numbers 0-7 (also as digit strings)
    (0, "auto", "fatal"),
    (1, "auto", "fatal"),
    (2, "auto", "fatal"),
    (3, "auto", "error"),
    (4, "auto", "warn"),
    (5, "auto", "info"),
    (6, "auto", "info"),
    (7, "auto", "debug"),
    ("3", "syslog", "error"),
    (8, "syslog", None),
    # pino / bunyan
    (10, "auto", "trace"),
    (20, "auto", "debug"),
    (30, "auto", "info"),
    (40, "auto", "warn"),
    (50, "auto", "error"),
    (60, "auto", "fatal"),
    (30.0, "auto", "info"),
    ("50", "auto", "error"),
    (99, "auto", None),
    # Python logging levelno
    (10, "python", "debug"),
    (20, "python", "info"),
    (30, "python", "warn"),
    (40, "python", "error"),
    (50, "python", "fatal"),
    (5, "python", "trace"),
    # OTel severity numbers
    (1, "otel", "trace"),
    (9, "otel", "info"),
    (12, "otel", "info"),
    (13, "otel", "warn"),
    (17, "otel", "error"),
    (24, "otel", "fatal"),
    (25, "otel", None),
    # not levels
    ("chatty", "auto", None),
    ("", "auto", None),
    ("²", "auto", None),  # a Unicode digit int() refuses
    ("٣", "auto", None),  # Arabic-Indic three: a number, but not a level spelling
    (None, "auto", None),
    (True, "auto", None),
    ([1], "auto", None),
    (float("nan"), "auto", None),
]


@pytest.mark.parametrize(("value", "scale", "level"), SPELLINGS)
def test_parse_level(value: object, scale: Scale, level: str | None) -> None:
    expected = None if level is None else (level, SEVERITY[level])
    assert parse_level(value, scale) == expected


@pytest.mark.parametrize(
    ("field", "value", "level"),
    [
        ("level", 30, "info"),
        ("levelno", 30, "warn"),
        ("severity_number", 17, "error"),
        ("PRIORITY", 4, "warn"),
        ("severity", "Warning", "warn"),
        ("levelname", "CRITICAL", "fatal"),
        ("log.level", "panic", "fatal"),
    ],
)
def test_the_field_decides_the_scale(field: str, value: object, level: str) -> None:
    from bitacora.processors.normalize import normalize

    doc = normalize(raw({"msg": "m", field: value}), 0, 0)
    assert (doc["log.level"], doc["event.severity"]) == (level, SEVERITY[level])
    assert "labels" not in doc


def test_record_level_beats_sniffed_word() -> None:
    from bitacora.processors.normalize import normalize

    doc = normalize(raw({"log": "ERROR in the past, now fine", "level": "info"}), 0, 0)
    assert doc["log.level"] == "info"


@pytest.mark.parametrize(
    ("record", "level"),
    [
        ({"log": "ERROR in the past, now fine"}, "error"),
        ({"log": "ERROR in the past, now fine", "level": "bogus"}, "error"),
        ({"log": "WARN disk", "level": None, "status": 500}, "warn"),
        ({"log": "no word here", "status": 500}, "error"),
    ],
)
def test_the_sniffed_word_serves_when_no_field_gives_a_level(
    record: dict[str, object], level: str
) -> None:
    # The word is sniffed only after the fields are read: it must still count whenever
    # none of them gives a valid level, and before the status code does.
    from bitacora.processors.normalize import normalize

    assert normalize(raw(record), 0, 0)["log.level"] == level


def test_lower_case_prose_is_not_a_level() -> None:
    from bitacora.processors.normalize import normalize

    doc = normalize(raw({"log": "no error found, fatal flaw avoided"}), 0, 0)
    assert doc["log.level"] == "info"


@pytest.mark.parametrize(
    ("status", "level"), [(200, "info"), (302, "info"), (404, "warn"), (500, "error")]
)
def test_level_from_status(status: int, level: str) -> None:
    assert level_from_status(status) == (level, SEVERITY[level])
