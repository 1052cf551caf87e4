"""Exceptions inside text: Python tracebacks, Java/JVM and Node.js stack traces, Go panics.

``find_exception(text)`` returns ``(head, type, message, stack_trace)``: ``head`` is the
text before the trace (the log message proper, "" when the text starts with the trace).
For Python the *last* exception line is used (the one raised, after any "During handling
of the above exception" chain); for Java the *first* one (the outermost; its "Caused by:"
chain stays in the stack trace).
"""

from __future__ import annotations

import re

_PY_START = "Traceback (most recent call last):"
_PY_EXC = re.compile(r"([A-Za-z_][\w.]*)(?::[ \t]?(.*))?", re.S)
_JAVA_EXC = re.compile(
    r"(?:Exception in thread \"[^\"]*\" )?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)"
    r"(?::[ \t]?(.*))?"
)
_AT = re.compile(r"[ \t]+at ")

Found = tuple[str, str, str | None, str]


def has_trace(text: str) -> bool:
    """Cheap test for any trace this module understands (each spans lines: a text without
    a newline, most messages, takes one scan)."""
    return "\n" in text and (
        _PY_START in text
        or "\n\tat " in text
        or "\n    at " in text
        or (text.startswith("panic: ") and "\ngoroutine " in text)
    )


def _python(text: str, start: int) -> Found | None:
    head = text[:start].rstrip()
    trace = text[start:].rstrip()
    frame = trace.rfind('\n  File "')
    if frame < 0:
        return None
    # The exception line is the first line after the last frame that is not indented.
    lines = trace[frame + 1 :].split("\n")
    for index, line in enumerate(lines):
        if line and not line[0].isspace():
            match = _PY_EXC.fullmatch("\n".join(lines[index:]))
            if match is None:
                return None
            message = match[2].strip() if match[2] else None
            return head, match[1], message or None, trace
    return None


def _java(text: str) -> Found | None:
    lines = text.split("\n")
    for index in range(len(lines) - 1):
        if not _AT.match(lines[index + 1]):
            continue
        # Walk up from the first frame to the exception line (messages can span lines).
        for top in range(index, -1, -1):
            match = _JAVA_EXC.fullmatch(lines[top])
            if match is not None and (
                "." in match[1] or match[1].endswith(("Exception", "Error", "Throwable"))
            ):
                message = "\n".join([match[2] or "", *lines[top + 1 : index + 1]]).strip()
                head = "\n".join(lines[:top]).rstrip()
                trace = "\n".join(lines[top:]).rstrip()
                return head, match[1], message or None, trace
        return None
    return None


def find_exception(text: str) -> Found | None:
    """``(head, error type, error message, stack trace)`` for the trace in ``text``."""
    start = text.find(_PY_START)
    if start >= 0:
        return _python(text, start)
    if text.startswith("panic: ") and "\ngoroutine " in text:
        first, _, _ = text.partition("\n")
        return "", "panic", first[7:].strip() or None, text.rstrip()
    if "\n\tat " in text or "\n    at " in text:
        return _java(text)
    return None


def exception_line(error_type: str, message: str | None) -> str:
    """``ValueError: bad`` (the message used when a record is only a trace)."""
    return f"{error_type}: {message}" if message else error_type
