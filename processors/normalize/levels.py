"""Canonical log levels from any spelling: names, letters, syslog, pino, Python, OTel.

``parse_level(value, scale)`` returns ``(level, severity)`` with ``level`` one of
:data:`bitacora.schema.LEVELS` and ``severity`` its OTel number from
:data:`bitacora.schema.SEVERITY`, or ``None`` when the value is not a level.

Numbers are ambiguous (pino's 30 is info, Python's 30 is warning), so the *field* decides
the scale: ``levelno`` is Python logging, ``severity_number`` is OTel, ``PRIORITY`` is
syslog; any other level field ("auto") reads 0-7 as syslog and 10-60 as pino/bunyan.
"""

from __future__ import annotations

from typing import Final, Literal

from bitacora.schema import SEVERITY

Scale = Literal["auto", "python", "otel", "syslog"]

# Each name, also in capitals and capitalized (the spellings loggers use: one lookup
# instead of stripping and lower-casing), to the level's (level, severity).
_NAMES: Final[dict[str, tuple[str, int]]] = {}


def _add(level: str, *names: str) -> None:
    result = (level, SEVERITY[level])
    for name in names:
        for spelling in (name, name.upper(), name.capitalize()):
            _NAMES[spelling] = result


_add("trace", "trace", "trc", "t", "finest", "finer", "verbose", "vrb", "all")
_add(
    "debug",
    "debug",
    "dbg",
    "d",
    "fine",
    "debug1",
    "debug2",
    "debug3",
    "debug4",
    "debug5",
    "d1",
    "d2",
    "d3",
    "d4",
    "d5",
)
_add(
    "info",
    "info",
    "inf",
    "i",
    "information",
    "informational",
    "notice",
    "note",
    "n",
    "log",
    "config",
    "default",
    "ok",
)
_add("warn", "warn", "warning", "wrn", "w", "wrng")
_add("error", "error", "err", "e", "eror", "erro", "severe", "fail", "failure")
_add(
    "fatal",
    "fatal",
    "ftl",
    "f",
    "critical",
    "crit",
    "crt",
    "c",
    "panic",
    "dpanic",
    "emerg",
    "emergency",
    "alert",
    "a",
)

# Syslog severities 0-7 (RFC 5424).
_SYSLOG: Final = ("fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug")

_RESULT: Final[dict[str, tuple[str, int]]] = {lv: _NAMES[lv] for lv in SEVERITY}


def _from_number(number: int, scale: Scale) -> str | None:
    if scale == "python":
        # logging: NOTSET 0, DEBUG 10, INFO 20, WARNING 30, ERROR 40, CRITICAL 50.
        if number < 10:
            return "trace"
        return ("debug", "info", "warn", "error")[number // 10 - 1] if number < 50 else "fatal"
    if scale == "otel":
        if not 1 <= number <= 24:
            return None
        return ("trace", "debug", "info", "warn", "error", "fatal")[(number - 1) // 4]
    if scale == "syslog" or 0 <= number <= 7:
        return _SYSLOG[number] if 0 <= number <= 7 else None
    # pino / bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
    if 10 <= number < 70:
        return ("trace", "debug", "info", "warn", "error", "fatal")[number // 10 - 1]
    return None


def parse_level(value: object, scale: Scale = "auto") -> tuple[str, int] | None:
    """``(canonical level, OTel severity)`` for ``value``, or None if it is not a level."""
    if type(value) is str:
        named = _NAMES.get(value)
        if named is None:
            named = _NAMES.get(value.strip().lower())
        if named is not None:
            return named
        if value.isascii() and value.isdigit() and len(value) <= 3:  # "²" is a digit, not a number
            found = _from_number(int(value), scale)
            return _RESULT[found] if found else None
        return None
    if type(value) is int:
        found = _from_number(value, scale)
        return _RESULT[found] if found else None
    if type(value) is float and value.is_integer() and abs(value) < 1000:
        found = _from_number(int(value), scale)
        return _RESULT[found] if found else None
    return None


def level_from_status(status: int) -> tuple[str, int]:
    """Level of an access-log line without its own level: 5xx error, 4xx warn, else info."""
    if status >= 500:
        return _RESULT["error"]
    if status >= 400:
        return _RESULT["warn"]
    return _RESULT["info"]


DEFAULT_LEVEL: Final = _RESULT["info"]
ERROR_LEVEL: Final = _RESULT["error"]
FATAL_LEVEL: Final = _RESULT["fatal"]
