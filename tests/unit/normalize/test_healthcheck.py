"""Health-check lines: the default shapes, configured patterns, and the normalized event."""

from __future__ import annotations

import pytest

from bitacora.errors import ConfigError
from bitacora.processors.normalize.config import NormalizeConfig
from bitacora.processors.normalize.core import normalize
from bitacora.processors.normalize.parsers.healthcheck import compile_patterns, parse_health_check
from bitacora.rawrecord import RawRecord


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("user-service: OK", {"service": "user-service", "status": "ok"}),
        (
            "2026-12-05T19:00:00Z order-service: FAIL connection refused",
            {"service": "order-service", "status": "fail", "detail": "connection refused"},
        ),
        ("postgres: DOWN", {"service": "postgres", "status": "fail"}),
        ("[OK] review-service", {"service": "review-service", "status": "ok"}),
        (
            "[FAIL] contact-service: timeout",
            {"service": "contact-service", "status": "fail", "detail": "timeout"},
        ),
        ("mongodb [WARN] slow", {"service": "mongodb", "status": "warn", "detail": "slow"}),
        ("service=db status=DOWN ms=3", {"service": "db", "status": "fail"}),
        ('check="api gw" result=passed', {"service": "api gw", "status": "ok"}),
        (
            '{"service": "x", "status": "unhealthy", "error": "503"}',
            {"service": "x", "status": "fail", "detail": "503"},
        ),
    ],
)
def test_default_shapes(line: str, expected: dict[str, str]) -> None:
    assert parse_health_check(line) == expected


@pytest.mark.parametrize(
    "line", ["Checking services...", "all done in 3s", "at 19:00:00 started", '{"a": 1}']
)
def test_other_lines_are_not_checks(line: str) -> None:
    assert parse_health_check(line) is None


def test_configured_patterns_come_first_and_are_checked() -> None:
    extra = compile_patterns((r"^CHECK (?P<service>\S+) -> (?P<status>\w+)$",))
    assert parse_health_check("CHECK cart -> failed", extra) == {
        "service": "cart",
        "status": "fail",
    }
    with pytest.raises(ConfigError, match="needs groups"):
        compile_patterns((r"(?P<service>\S+)",))


def _doc(tag: str, line: str, config: NormalizeConfig | None = None) -> dict[str, object]:
    raw = RawRecord(tag, 0, {"log": line}, 1_765_000_000_000_000_000, "stdin", "stdin", "s:1", 0)
    return normalize(raw, 0, 0, config or NormalizeConfig())


def test_health_check_events_get_check_labels_and_a_level() -> None:
    doc = _doc("health-check.send", "order-service: FAIL refused")
    assert doc["log.level"] == "error"
    assert doc["message"] == "order-service: FAIL refused"
    assert doc["service.name"] == "health-check"
    assert doc["labels"] == {
        "check": {"service": "order-service", "status": "fail", "detail": "refused"}
    }
    assert _doc("health-check.send", "user-service: OK")["log.level"] == "info"


def test_other_services_lines_are_not_parsed_as_checks() -> None:
    doc = _doc("order-service.app", "db: FAIL")
    assert "labels" not in doc
    config = NormalizeConfig(health_check_services=frozenset({"order-service"}))
    assert _doc("order-service.app", "db: FAIL", config)["labels"] == {
        "check": {"service": "db", "status": "fail"}
    }
