"""Parsers for the text in ``log``/``message``; each returns *hints* for the normalizer.

Hints are a dict keyed by event-table field names (``message``, ``http.request.method``,
``event.duration`` ...) plus ``@level`` (a level in any spelling), ``@time`` (the line's
own time, used only when the client sent none), ``@labels`` (extra labels),
``@fields`` (a structured object found in the line, merged into the record's fields) and
``@plain`` (the text of a plain line, whose level word the normalizer sniffs with
:func:`plain.sniff_level` only when nothing else gives the event a level).

A CRI prefix is stripped first (then the payload goes on); then the line parsers of
``PARSERS`` (one module each, declaring its ``LineParser``) try in order, each only on
lines starting with a character it can match; else a plain line (``@plain``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bitacora.processors.normalize.parsers import access, json_line, logfmt, plain, postgres
from bitacora.processors.normalize.parsers.base import LineParser
from bitacora.processors.normalize.parsers.cri import split_cri

# The line parsers, tried in this order (cheapest test first); a line no parser takes is
# plain text, its level word sniffed later if the event needs it.
PARSERS: tuple[LineParser, ...] = (
    json_line.PARSER,
    postgres.PARSER,
    plain.PARSER,
    access.PARSER,
    logfmt.PARSER,
)
# Modules of this folder that are steps of the normalizer rather than line parsers.
RECORD_STEPS = {
    "cri": "the container runtime prefix, split off (and partial lines joined) first",
    "healthcheck": "health-check results, for lines of the health-check services only",
    "mongodb": "MongoDB's structured log records (a JSON object's fields)",
    "stacktrace": "exceptions found in a message, after parsing",
}
ParseFunction = Callable[[str], dict[str, Any] | None]
_ANY_START: tuple[ParseFunction, ...] = tuple(p.parse for p in PARSERS if not p.starts)
# First character → the parsers its lines meet, in registry order.
_BY_START: dict[str, tuple[ParseFunction, ...]] = {
    char: tuple(p.parse for p in PARSERS if not p.starts or char in p.starts)
    for char in {c for p in PARSERS for c in p.starts}
}


def parse_body(text: str) -> dict[str, Any]:
    """Hints for one log line (see module docstring); never raises."""
    cri_labels: dict[str, Any] | None = None
    cri_time: str | None = None
    if text[:1].isdigit():
        cri = split_cri(text)
        if cri is not None:
            cri_time, stream, tag, text = cri
            cri_labels = {"stream": stream}
            if tag == "P":
                cri_labels["partial"] = True
    text = text.rstrip("\r\n")
    hints = _parse_payload(text)
    if cri_labels is not None:
        labels = hints.setdefault("@labels", {})
        for key, value in cri_labels.items():
            labels.setdefault(key, value)
        hints.setdefault("@time", cri_time)
    return hints


def _parse_payload(text: str) -> dict[str, Any]:
    for parse in _BY_START.get(text[:1], _ANY_START):
        hints = parse(text)
        if hints is not None:
            return hints
    return {"message": text, "@plain": text}
