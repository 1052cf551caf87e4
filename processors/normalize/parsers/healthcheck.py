"""Health-check lines: which service was checked and whether it passed.

Used for events of the health-check services (``Settings.health_check_services``). The
shapes understood by default, anywhere in the line (a timestamp before is fine):

- ``user-service: OK``, ``order-service: FAIL connection refused``, ``db: DOWN``
- ``[OK] user-service``, ``[FAIL] order-service: timeout``, ``user-service [FAIL]``
- ``service=user-service status=FAIL latency_ms=12`` (keys ``service|name|check|component|
  target`` and ``status|state|result|health``)
- ``{"service": "user-service", "status": "FAIL", ...}``

plus configured regexes with named groups ``service`` and ``status`` (tried first).
Statuses: OK, PASS(ED), UP, HEALTHY, SUCCESS → ``ok``; WARN(ING), DEGRADED → ``warn``;
FAIL(ED), DOWN, ERROR, CRITICAL, UNHEALTHY, TIMEOUT → ``fail``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from bitacora.errors import ConfigError

STATUSES: Final[dict[str, str]] = {
    **dict.fromkeys(("ok", "pass", "passed", "up", "healthy", "success"), "ok"),
    **dict.fromkeys(("warn", "warning", "degraded"), "warn"),
    **dict.fromkeys(
        ("fail", "failed", "failure", "down", "error", "critical", "unhealthy", "timeout"),
        "fail",
    ),
}
LEVELS: Final = {"ok": "info", "warn": "warn", "fail": "error"}

_WORD = "|".join(sorted(STATUSES, key=len, reverse=True))
# A name holds a letter: "19:00" in a timestamp is not a service.
_NAME = r"[A-Za-z0-9_./-]*[A-Za-z][A-Za-z0-9_./-]*"
_SHAPES: Final = (
    re.compile(rf"(?P<service>{_NAME})\s*\[(?P<status>{_WORD})\]\s*(?P<detail>.*)", re.I),
    re.compile(rf"\[(?P<status>{_WORD})\]\s*(?P<service>{_NAME}):?\s*(?P<detail>.*)", re.I),
    re.compile(rf"(?P<service>{_NAME}):\s+(?P<status>{_WORD})\b[\s:;,-]*(?P<detail>.*)", re.I),
)
_PAIR = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S+)')
_SERVICE_KEYS: Final = ("service", "name", "check", "component", "target")
_STATUS_KEYS: Final = ("status", "state", "result", "health")


def compile_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Configured health-check regexes; ConfigError unless each names service and status."""
    out = []
    for pattern in patterns:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"health_check_patterns: {pattern!r} is not valid: {exc}") from exc
        if not {"service", "status"} <= set(regex.groupindex):
            raise ConfigError(
                f"health_check_patterns: {pattern!r} needs groups (?P<service>…) and (?P<status>…)"
            )
        out.append(regex)
    return tuple(out)


def _result(service: Any, status: Any, detail: Any = None) -> dict[str, str] | None:
    if not isinstance(service, str) or not isinstance(status, str) or not service:
        return None
    kind = STATUSES.get(status.strip().lower())
    if kind is None:
        return None
    out = {"service": service.strip(), "status": kind}
    if isinstance(detail, str) and detail.strip():
        out["detail"] = detail.strip()
    return out


def _from_mapping(fields: dict[str, Any]) -> dict[str, str] | None:
    service = next((fields[k] for k in _SERVICE_KEYS if isinstance(fields.get(k), str)), None)
    status = next((fields[k] for k in _STATUS_KEYS if isinstance(fields.get(k), str)), None)
    detail = fields.get("detail", fields.get("message", fields.get("error")))
    return _result(service, status, detail)


def parse_health_check(text: str, extra: tuple[re.Pattern[str], ...] = ()) -> dict[str, str] | None:
    """``{"service", "status" (ok|warn|fail), "detail"?}`` for a health-check line, or None."""
    for regex in extra:
        match = regex.search(text)
        if match is not None:
            groups = match.groupdict()
            found = _result(groups["service"], groups["status"], groups.get("detail"))
            if found is not None:
                return found
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return _from_mapping(data)
    if "=" in text:
        pairs = {k.lower(): v.strip('"') for k, v in _PAIR.findall(text)}
        found = _from_mapping(pairs)
        if found is not None:
            return found
    for regex in _SHAPES:
        match = regex.search(text)
        if match is not None:
            found = _result(match["service"], match["status"], match["detail"])
            if found is not None:
                return found
    return None


def health_hints(text: str, extra: tuple[re.Pattern[str], ...] = ()) -> dict[str, Any] | None:
    """Normalizer hints for a health-check line: the message, level and ``check`` labels."""
    found = parse_health_check(text, extra)
    if found is None:
        return None
    return {
        "message": text.rstrip(),
        "@level": LEVELS[found["status"]],
        "@labels": {"check": found},
    }
