"""Parsers for the text in ``log``/``message``; each returns *hints* for the normalizer.

Hints are a dict keyed by event-table field names (``message``, ``http.request.method``,
``event.duration`` ...) plus ``@level`` (a level in any spelling), ``@time`` (the line's
own time, used only when the client sent none), ``@labels`` (extra labels) and
``@fields`` (a structured object found in the line, merged into the record's fields).

Order, cheapest test first: CRI prefix (stripped, then the payload goes on), JSON object,
PostgreSQL, access log, klog, logfmt, else a plain line (level word sniffed).
"""

from __future__ import annotations

from typing import Any

from bitacora.processors.normalize.parsers.access import looks_like_access, parse_access
from bitacora.processors.normalize.parsers.cri import split_cri
from bitacora.processors.normalize.parsers.json_line import parse_json_object
from bitacora.processors.normalize.parsers.logfmt import parse_logfmt
from bitacora.processors.normalize.parsers.plain import parse_klog, sniff_level
from bitacora.processors.normalize.parsers.postgres import looks_like_postgres, parse_postgres


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
    first = text[:1]
    if first == "{":
        fields = parse_json_object(text.rstrip())
        if fields is not None:
            return {"@fields": fields}
    elif first.isdigit():
        if looks_like_postgres(text):
            hints = parse_postgres(text)
            if hints is not None:
                return hints
    elif first in "IWEF":
        hints = parse_klog(text)
        if hints is not None:
            return hints
    if looks_like_access(text):
        hints = parse_access(text)
        if hints is not None:
            return hints
    if "=" in text:
        pairs = parse_logfmt(text)
        if pairs is not None:
            return {"@fields": pairs}
    level = sniff_level(text)
    return {"message": text, "@level": level} if level else {"message": text}
