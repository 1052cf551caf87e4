"""Time arguments of ``bitacora search``: relative and absolute instants, time zones.

Pure functions: the caller passes ``now`` so that tests (and one command run) use one clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bitacora.durations import DURATION_TEXT, parse_duration

_RELATIVE = re.compile(r"^\s*now\s*(?:([-+])\s*(.+))?$", re.IGNORECASE)
# Python < 3.12 cannot parse nanoseconds: keep at most microseconds of the fraction.
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timezone(name: str | None) -> tzinfo:
    """``UTC``, ``local``, ``Europe/Madrid``, ``+02:00`` → a tzinfo (``None`` is UTC)."""
    if name is None or name.upper() in ("UTC", "Z"):
        return UTC
    if name.lower() == "local":
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    offset = re.match(r"^([+-])(\d{2}):?(\d{2})$", name)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        return timezone(sign * delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}: use UTC, local, +02:00 or an IANA name"
        ) from exc


def parse_instant(text: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """An instant from ``now``, ``now-2h``, ``2h`` (= 2h ago), or RFC 3339 / ISO 8601.

    A timestamp without an offset (or a bare date) is read in ``tz``. The result is aware.
    """
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        if relative.group(1) is None:
            return now
        delta = timedelta(seconds=parse_duration(relative.group(2)))
        return now - delta if relative.group(1) == "-" else now + delta
    if DURATION_TEXT.match(text):
        return now - timedelta(seconds=parse_duration(text))
    iso = _FRACTION.sub(r"\1", text.replace("z", "Z"))
    if iso.endswith("Z"):
        iso = iso[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError as exc:
        raise ValueError(
            f"bad time {text!r}: expected RFC 3339 (2026-11-28T10:00:00Z), "
            "a date, now, now-2h or a duration like 15m"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def to_rfc3339_nanos(ns: int) -> str:
    """Nanoseconds since the epoch → ``2026-11-28T10:00:00.123456789Z`` (a date_nanos value)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


def to_nanos(moment: datetime) -> int:
    """An aware datetime → nanoseconds since the epoch (exact, no float rounding)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def parse_event_time(value: str) -> int:
    """An RFC 3339 ``@timestamp`` (nanoseconds kept) → nanoseconds since the epoch."""
    text = value.strip().replace("z", "Z")
    frac_ns = 0
    match = re.search(r"\.(\d+)", text)
    if match:
        digits = match.group(1)
        frac_ns = int((digits + "000000000")[:9])
        text = text[: match.start()] + text[match.end() :]
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_nanos(moment) + frac_ns


def format_display(value: str, tz: tzinfo) -> str:
    """An event's ``@timestamp`` shown in ``tz`` with milliseconds: ``2026-11-28 11:00:00.123Z``."""
    try:
        ns = parse_event_time(value)
    except ValueError:
        return value
    moment = datetime.fromtimestamp(ns // 1_000_000_000, UTC).astimezone(tz)
    millis = (ns // 1_000_000) % 1000
    offset = moment.strftime("%z")
    suffix = "Z" if offset == "+0000" else offset
    return f"{moment:%Y-%m-%d %H:%M:%S}.{millis:03d}{suffix}"
