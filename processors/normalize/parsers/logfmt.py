"""logfmt lines: ``time=... level=info msg="user created" id=42``."""

from __future__ import annotations

import re
from typing import Any

from bitacora.processors.normalize.parsers.base import LineParser

_START = re.compile(r"[A-Za-z_@][\w.@/-]*=")
_PAIR = re.compile(r"\s*([A-Za-z_@][\w.@/-]*)=(\"[^\"\\]*(?:\\.[^\"\\]*)*\"|[^\s\"]*)")
_UNESCAPE = re.compile(r"\\(.)")


def parse_logfmt(text: str) -> dict[str, Any] | None:
    """The pairs of a logfmt line, or None.

    Strict on purpose so prose is never mistaken for logfmt: the line must start with
    ``key=``, hold at least two pairs, and consist of nothing but pairs (a bare word
    makes it plain text).
    """
    if "=" not in text or _START.match(text) is None:
        return None
    pairs: dict[str, Any] = {}
    position = 0
    end = len(text)
    while position < end:
        match = _PAIR.match(text, position)
        if match is None:
            if text[position:].strip():
                return None
            break
        key, value = match.groups()
        if value.startswith('"'):
            value = _UNESCAPE.sub(r"\1", value[1:-1])
        pairs[key] = value
        position = match.end()
        if position < end and not text[position].isspace():
            return None
    return pairs if len(pairs) >= 2 else None


def _logfmt_hints(text: str) -> dict[str, Any] | None:
    if "=" not in text:
        return None
    pairs = parse_logfmt(text)
    return None if pairs is None else {"@fields": pairs}


PARSER = LineParser("logfmt", "", _logfmt_hints)
