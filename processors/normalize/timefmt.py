"""Timestamps: RFC 3339 formatting with nanoseconds, and parsing of the times records carry.

``@timestamp`` is a date_nanos field, whose range is 1970-01-01 to 2262-04-11; times
outside it are treated as absent.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Final

MAX_NS: Final = 2**63 - 1
_UNBOXED_MAX: Final = 2**62 - 1  # the largest int mypyc keeps unboxed
_NS: Final = 1_000_000_000

# "YYYY-MM-DDTHH:MM:SS" by epoch second. Events of one second share it, and an event's own
# time and its ingest time are usually different seconds: a one-entry cache would thrash.
_PREFIXES: dict[int, str] = {}
_MAX_PREFIXES: Final = 8192


def _prefix(seconds: int) -> str:
    prefix = _PREFIXES.get(seconds)
    if prefix is None:
        if len(_PREFIXES) >= _MAX_PREFIXES:
            _PREFIXES.clear()
        prefix = _PREFIXES[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return prefix


def valid_ns(ns: object) -> bool:
    """True for an int inside the date_nanos range (0 is "absent" for forward clients)."""
    if type(ns) is not int:
        return False
    value: int = ns  # the compiled build compares an int natively, an object not
    # Times before 2116 compare with a constant the compiled build holds unboxed too.
    return 0 < value <= _UNBOXED_MAX or _UNBOXED_MAX < value <= MAX_NS


def format_ns(ns: int) -> str:
    """``2026-11-28T09:00:00.123456789Z`` for nanoseconds since the epoch (must be valid)."""
    done = _last_ns[0]
    if done[0] == ns:  # times in whole seconds (fluent-logger's default) repeat
        return done[1]
    seconds = ns // _NS  # not divmod(): the compiled build has no native divmod
    fraction = ns - seconds * _NS
    last = _last_second[0]
    if last[0] == seconds:  # the events of one request are mostly of one second
        prefix = last[1]
    else:
        prefix = _prefix(seconds)
        _last_second[0] = (seconds, prefix)
    # The nine digits as three table lookups: no number formatted.
    three = _THREE_DIGITS
    millis, rest = three[fraction // 1_000_000], fraction % 1_000_000
    text = f"{prefix}.{millis}{three[rest // 1000]}{three[rest % 1000]}Z"
    _last_ns[0] = (ns, text)
    return text


def format_ms(ns: int) -> str:
    """``2026-11-28T09:00:00.123Z``: millisecond precision, for ``event.ingested``."""
    last = _last_ms[0]
    if last[0] == ns:  # the events of one request share their received time
        return last[1]
    seconds = ns // _NS
    text = _prefix(seconds) + _MS_SUFFIXES[(ns - seconds * _NS) // 1_000_000]
    _last_ms[0] = (ns, text)  # one item replaced: a reader never sees half of it
    return text


# "000" to "999"; ".000Z" to ".999Z", by millisecond (format_ms joins two strings).
_THREE_DIGITS: Final[tuple[str, ...]] = tuple(f"{n:03d}" for n in range(1000))
_MS_SUFFIXES: Final[tuple[str, ...]] = tuple(f".{digits}Z" for digits in _THREE_DIGITS)
# format_ns's last second and its prefix (the event times of one request share it; the
# ingest times go through format_ms's own cache, so the two do not take turns here).
_last_second: list[tuple[int, str]] = [(-1, "")]
# The last format_ms call, as (nanoseconds, text).
_last_ms: list[tuple[int, str]] = [(-1, "")]
# The last format_ns call, likewise.
_last_ns: list[tuple[int, str]] = [(-1, "")]


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9})\d*)?"
    r" ?(Z|z|UTC|GMT|[+-]\d\d(?::?\d\d)?)?"
)
_CLF = re.compile(r"(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_MONTHS: Final = {
    m: i + 1
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    )
}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _to_ns(
    fields: tuple[int, int, int, int, int, int], fraction: str | None, offset_minutes: int
) -> int | None:
    try:
        moment = datetime(*fields, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    delta = moment - _EPOCH - timedelta(minutes=offset_minutes)
    ns = (delta.days * 86_400 + delta.seconds) * _NS
    if fraction:
        ns += int(fraction.ljust(9, "0"))
    return ns if valid_ns(ns) else None


def _offset_minutes(zone: str | None) -> int:
    if not zone or zone in ("Z", "z", "UTC", "GMT"):
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
    return sign * minutes


def _from_epoch(number: int | float) -> int | None:
    # The magnitude tells the unit: seconds, milliseconds, microseconds or nanoseconds.
    # (``int | float``, not ``float``: compiled by mypyc, a ``float`` parameter turns an
    # int into a double and loses nanoseconds.)
    if not 0 < number < 1e20:  # also rejects NaN and infinities
        return None
    # Floats go through whole microseconds, which a double still holds exactly.
    if number < 1e11:
        result = number * _NS if type(number) is int else round(number * 1e6) * 1000
    elif number < 1e14:
        result = number * 1_000_000 if type(number) is int else round(number * 1e3) * 1000
    elif number < 1e17:
        result = number * 1_000 if type(number) is int else round(number) * 1000
    else:
        result = int(number)
    return result if valid_ns(result) else None


def parse_time(value: object) -> int | None:
    """Nanoseconds since the epoch from a record's own time field, or None.

    Accepts RFC 3339 / ISO 8601 (``T`` or space, up to 9 fractional digits, ``Z``, ``UTC``,
    numeric offsets; no zone means UTC), Apache/nginx ``28/Nov/2026:09:00:00 +0000``,
    epoch numbers (unit from the magnitude) and MongoDB ``{"$date": ...}``.
    """
    if type(value) is str:
        text = value.strip()
        if not text or len(text) > 64:
            return None
        match = _RFC3339.fullmatch(text)
        if match:
            y, mo, d, h, mi, s, fraction, zone = match.groups()
            fields = (int(y), int(mo), int(d), int(h), int(mi), int(s))
            return _to_ns(fields, fraction, _offset_minutes(zone))
        match = _CLF.fullmatch(text)
        if match:
            d, mon, y, h, mi, s, sign, oh, om = match.groups()
            month = _MONTHS.get(mon)
            if month is None:
                return None
            offset = (int(oh) * 60 + int(om)) * (-1 if sign == "-" else 1)
            return _to_ns((int(y), month, int(d), int(h), int(mi), int(s)), None, offset)
        try:
            return _from_epoch(float(text))
        except ValueError:
            return None
    if type(value) is int or type(value) is float:
        return _from_epoch(value)
    if type(value) is dict:
        inner = value.get("$date")
        if type(inner) is dict:
            inner = inner.get("$numberLong")
            if type(inner) is str and inner.lstrip("-").isdigit():
                return _from_epoch(int(inner) * 1_000_000)
            return None
        if type(inner) is int:
            return _from_epoch(inner * 1_000_000)  # extended JSON: milliseconds
        return parse_time(inner) if type(inner) is str else None
    return None
