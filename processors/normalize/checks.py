"""How each event-table field's value is checked: what a candidate stores, or None.

A value that fails its target's check stays in ``labels`` and the next candidate is tried
(processors.normalize.extract). The argument is the level scale for level fields and the
unit (in ns) for durations.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Final
from urllib.parse import urlsplit

from bitacora.processors.normalize.fields import to_text
from bitacora.processors.normalize.levels import parse_level
from bitacora.redact import is_ascii

_EMPTY: Final = frozenset(("", "-", "None", "none", "null", "NULL", "nil", "undefined"))
_METHOD = re.compile(r"[A-Z][A-Z_-]{0,19}")
_METHODS: Final = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"))
# Dotted quad, octets 0-255 without leading zeros (one regex, no int() per octet).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(_OCTET + r"(?:\." + _OCTET + r"){3}")
_MAX_NS: Final = 2**63 - 1


def _text(value: Any, _arg: Any) -> str | None:
    if type(value) is str and is_ascii(value) and "\x00" not in value:
        text: str | None = value.rstrip()
        return None if text in _EMPTY else text
    text = to_text(value)
    if text is None:
        return None
    text = text.rstrip()
    return None if text in _EMPTY else text


def _message(value: Any, _arg: Any) -> str | None:
    # Unlike other text fields, "-" or "null" is a real (if odd) log message.
    text = to_text(value)
    if text is None:
        return None
    text = text.rstrip()
    return text or None


def ident(value: Any, _arg: Any) -> str | None:
    """The default check: a stripped, non-empty, non-placeholder identifier or None."""
    if type(value) is str and is_ascii(value) and "\x00" not in value:
        text: str | None = value.strip()
        return None if text in _EMPTY else text
    text = to_text(value)
    if text is None:
        return None
    text = text.strip()
    return None if text in _EMPTY else text


def _method(value: Any, _arg: Any) -> str | None:
    if type(value) is not str:
        return None
    method = value.strip().upper()
    if method in _METHODS:  # the usual ones, without the regex
        return method
    return method if _METHOD.fullmatch(method) else None


def _status(value: Any, _arg: Any) -> int | None:
    if type(value) is str and len(value) == 3 and value.isdigit():
        value = int(value)
    if type(value) is int and 100 <= value <= 599:
        return value
    return None


def _path(value: Any, arg: Any) -> str | None:
    text = ident(value, None)
    if text is None:
        return None
    if arg == "derive" and "://" in text[:12]:
        try:
            text = urlsplit(text).path or "/"
        except ValueError:
            return None
    return text.partition("?")[0] or None


def _ip(value: Any, _arg: Any) -> str | None:
    text = ident(value, None)
    if text is None:
        return None
    text = text.partition(",")[0].strip().strip("[]").partition("%")[0]
    if _IPV4.fullmatch(text):  # the common case, without ipaddress' slower parser
        return text
    if ":" not in text:
        return None
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return None
    return text


def _duration(value: Any, unit: Any) -> int | None:
    if type(value) is str:
        try:
            value = float(value)
        except ValueError:
            return None
    if type(value) is not int and type(value) is not float:
        return None
    scaled: int | float = value * unit  # not float: mypyc would make an int a double
    if not 0 <= scaled <= _MAX_NS:  # also rejects NaN
        return None
    return round(scaled)


# The check of each target, as a number: ``check`` dispatches on it with direct calls,
# which the compiled build makes native (a call through a table of function objects
# parses its arguments every time). Targets not listed are identifiers (``ident``).
IDENT: Final = 0
MESSAGE: Final = 1
LEVEL: Final = 2
TEXT: Final = 3
METHOD: Final = 4
STATUS: Final = 5
PATH: Final = 6
IP: Final = 7
DURATION: Final = 8
RAW: Final = 9
KINDS: Final[dict[str, int]] = {
    "message": MESSAGE,
    "log.level": LEVEL,
    "error.message": TEXT,
    "error.stack_trace": TEXT,
    "@exc": TEXT,
    "http.request.method": METHOD,
    "http.response.status_code": STATUS,
    "url.path": PATH,
    "client.ip": IP,
    "event.duration": DURATION,
    "@time": RAW,
}


def check_kind(kind: int, value: Any, arg: Any) -> Any:
    """The value a target of check ``kind`` (:data:`KINDS`) stores for ``value``, or None."""
    if kind == IDENT:
        return ident(value, arg)
    if kind == MESSAGE:
        return _message(value, arg)
    if kind == LEVEL:
        return parse_level(value, arg or "auto")
    if kind == TEXT:
        return _text(value, arg)
    if kind == METHOD:
        return _method(value, arg)
    if kind == STATUS:
        return _status(value, arg)
    if kind == PATH:
        return _path(value, arg)
    if kind == IP:
        return _ip(value, arg)
    if kind == DURATION:
        return _duration(value, arg)
    return value


def check(target: str, value: Any, arg: Any) -> Any:
    """The value ``target`` stores for ``value``, or None when it does not fit."""
    return check_kind(KINDS.get(target, IDENT), value, arg)
