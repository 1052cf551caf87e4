"""Durations and event timestamps, in float seconds.

A duration is written as ElastAlert2 writes it in rule files (``{minutes: 5}``), as text
(``"5m"``, the form of every command-line option) or as a number of seconds. Everything
downstream works in float seconds, so the rule engine never touches ``timedelta``.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime
from typing import Any

_UNITS = {
    "weeks": 604800.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
    "milliseconds": 0.001,
}
_SUFFIX = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
DURATION_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|w|d|h|m|s)\s*$")


def parse_duration(value: Any) -> float:
    """Seconds of ``value``: ``{hours: 1, minutes: 30}``, ``"90m"``, ``"7d"`` or a number.

    Raises ``ValueError`` naming what is accepted, so the loader can put it next to the line.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a mapping like {minutes: 5} or a string like '5m'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        found = DURATION_TEXT.match(value)
        if not found:
            raise ValueError(f"invalid duration {value!r}: use e.g. '30s', '5m', '2h', '7d', '1w'")
        return float(found.group(1)) * _SUFFIX[found.group(2)]
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(_UNITS))
        if unknown or not value:
            raise ValueError(f"duration units must be among {sorted(_UNITS)}, got {sorted(value)}")
        total = 0.0
        for unit, amount in value.items():
            if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
                raise ValueError(f"duration {unit} must be a non-negative number")
            total += float(amount) * _UNITS[unit]
        return total
    raise ValueError("a duration is a mapping like {minutes: 5} or a string like '5m'")


_SECONDS_CACHE: dict[str, int] = {}


def parse_timestamp(text: str) -> float:
    """Epoch seconds of an RFC 3339 ``@timestamp`` (nanosecond digits are truncated to µs).

    The common ``YYYY-MM-DDTHH:MM:SS[.fff…]Z`` form is parsed with a per-second cache
    (events arrive in bursts within the same second); anything else goes the slow way.
    """
    if len(text) >= 20 and text[-1] == "Z" and text[10] == "T" and text[19] in ".Z":
        head = text[:19]
        whole = _SECONDS_CACHE.get(head)
        if whole is None:
            if len(_SECONDS_CACHE) > 4096:
                _SECONDS_CACHE.clear()
            whole = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
            _SECONDS_CACHE[head] = whole
        fraction = text[20:-1]
        if not fraction:
            return float(whole)
        if fraction.isdigit():
            return whole + int(fraction[:9]) / float(10 ** min(len(fraction), 9))
    return _parse_slow(text)


def _parse_slow(text: str) -> float:
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # fromisoformat accepts at most 6 fraction digits portably: trim the nanoseconds.
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        if end - dot > 7:
            text = text[: dot + 7] + text[end:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


_HEADS: dict[datetime, str] = {}


def format_timestamp(seconds: float) -> str:
    """RFC 3339 UTC text with millisecond precision, e.g. ``2026-11-28T09:30:00.123Z``.

    The text up to the second comes from a per-second cache (alerts format several
    timestamps each, mostly of the same few seconds): ``strftime`` is the slow part.
    """
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    micros = moment.microsecond
    whole = moment.replace(microsecond=0) if micros else moment
    head = _HEADS.get(whole)
    if head is None:
        if len(_HEADS) > 4096:
            _HEADS.clear()
        head = _HEADS[whole] = whole.strftime("%Y-%m-%dT%H:%M:%S.")
    return f"{head}{micros // 1000:03d}Z"
