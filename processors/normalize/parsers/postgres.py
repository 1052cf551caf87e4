"""PostgreSQL server log lines with the default ``log_line_prefix = '%m [%p] '``.

``2026-11-28 09:00:00.123 UTC [123] ERROR:  duplicate key value violates ...`` followed by
``DETAIL:``/``HINT:``/``STATEMENT:``/``CONTEXT:``/``QUERY:``/``LOCATION:`` lines of the
same process (one record may carry them joined with ``\\n``; tab-indented lines continue
the part above). ``user@db`` right after the pid (``'%m [%p] %q%u@%d '``) is understood
too. Continuation lines that arrive as separate records can be glued with
:class:`PostgresJoiner`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

from bitacora.processors.normalize.parsers.base import LineParser

_LINE = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?(?: [A-Za-z]{1,5}| [+-]\d\d(?::?\d\d)?)?)"
    r" \[(\d+)\](?:-\d+)? (?:(\S*)@(\S*) )?"
    r"(DEBUG[1-5]|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|STATEMENT|CONTEXT"
    r"|QUERY|LOCATION):  ?(.*)"
)
_EXTRA = ("DETAIL", "HINT", "STATEMENT", "CONTEXT", "QUERY", "LOCATION")
_DURATION = re.compile(r"duration: (\d+(?:\.\d+)?) ms")


def looks_like_postgres(line: str) -> bool:
    """Cheap test: ``YYYY-MM-DD HH:`` then `` [`` somewhere."""
    return len(line) > 30 and line[4] == "-" and line[10] == " " and line[13] == ":"


def parse_postgres(text: str) -> dict[str, Any] | None:
    """Hints for a PostgreSQL log record (possibly multi-line), or None."""
    lines = text.split("\n")
    first = _LINE.match(lines[0])
    if first is None:
        return None
    time, pid, user, database, severity, message = first.groups()
    info: dict[str, Any] = {"pid": int(pid)}
    if user:
        info["user"] = user
    if database:
        info["database"] = database
    current: list[str] | None = None  # the part that continuation text is appended to
    message_lines = [message]
    current = message_lines
    extras: dict[str, list[str]] = {}
    for line in lines[1:]:
        match = _LINE.match(line) if looks_like_postgres(line) else None
        if match is not None and match[5] in _EXTRA:
            current = extras.setdefault(match[5].lower(), [])
            current.append(match[6])
        elif line or current is not message_lines:
            current.append(line.removeprefix("\t"))
    for name, parts in extras.items():
        info[name] = "\n".join(parts)
    hints: dict[str, Any] = {
        "message": "\n".join(message_lines).rstrip("\n"),
        "@labels": {"postgresql": info},
        "@time": time,
        "log.logger": "postgresql",
    }
    if severity in _EXTRA:
        info["kind"] = severity.lower()
        hints["@level"] = "info"
    else:
        hints["@level"] = severity
    duration = _DURATION.match(message)
    if duration is not None:
        hints["event.duration"] = round(float(duration[1]) * 1_000_000)
    return hints


class PostgresJoiner:
    """Glues continuation lines that arrive as separate records onto their primary line.

    ``feed(key, line)`` returns the *previous* complete block when ``line`` starts a new
    one (so output lags one record), None otherwise; ``flush(key)`` returns the open block
    (call it when the stream goes idle). A block is capped at ``max_lines`` lines. With
    more than ``max_streams`` open blocks the oldest is closed; ``drain_evicted`` returns
    such blocks so nothing is lost.
    """

    def __init__(self, max_lines: int = 200, max_streams: int = 10_000) -> None:
        self.max_lines = max_lines
        self.max_streams = max_streams
        self._open: dict[Hashable, list[str]] = {}
        self._evicted: list[tuple[Hashable, str]] = []

    def feed(self, key: Hashable, line: str) -> str | None:
        """The block completed by ``line``'s arrival, or None."""
        match = _LINE.match(line) if looks_like_postgres(line) else None
        continuation = line.startswith("\t") or (match is not None and match[5] in _EXTRA)
        block = self._open.get(key)
        if block is not None and continuation and len(block) < self.max_lines:
            block.append(line)
            return None
        done = self.flush(key)
        if len(self._open) >= self.max_streams:
            oldest = next(iter(self._open))
            self._evicted.append((oldest, "\n".join(self._open.pop(oldest))))
        self._open[key] = [line]
        return done

    def drain_evicted(self) -> list[tuple[Hashable, str]]:
        """Blocks closed early because too many streams were open."""
        evicted, self._evicted = self._evicted, []
        return evicted

    def flush(self, key: Hashable) -> str | None:
        """The open block of ``key`` joined with ``\\n`` (and forgotten), or None."""
        block = self._open.pop(key, None)
        return None if block is None else "\n".join(block)


def _postgres_hints(line: str) -> dict[str, Any] | None:
    return parse_postgres(line) if looks_like_postgres(line) else None


PARSER = LineParser("postgres", "0123456789", _postgres_hints)
