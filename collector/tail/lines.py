"""Pure line handling for the file and pipe inputs: bytes in, whole log events out.

``LineReader`` is fed the bytes of one file (or pipe) in order and returns events, each
with the byte offset where it starts and where it ends, so the shell can persist how far
Kafka holds the file:

- a line ends at ``\\n`` (a ``\\r`` before it is dropped); a partial last line is kept
  until its newline arrives, or until ``flush(final=True)`` (the file was rotated away or
  deleted, or the pipe closed);
- a line longer than ``max_line_bytes`` is cut there and marked ``truncated``; the rest of
  it, up to the newline, is skipped;
- with a ``multiline_start`` pattern, a line that does not match it joins the event before
  it (tracebacks); the open event goes out when the next start line arrives, or on
  ``flush`` (the shell calls it once the input is quiet for a moment);
- ``safe_offset`` is where a reader restarted from persisted state must begin: the start
  of the oldest byte not yet returned in an event.

Bytes are not decoded here: invalid UTF-8 goes on as it is and is repaired by the
normalizer, as for every other input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LineEvent:
    """One log event read from a file: its text and where it sits in the file."""

    offset: int  # first byte of the event
    end: int  # the byte after the event's last line (newline included)
    text: bytes
    truncated: bool = False


@dataclass(slots=True)
class _Open:
    """The multiline event being assembled."""

    offset: int
    end: int
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    truncated: bool = False


class LineReader:
    """Splits, caps and joins lines; holds no file handle (see the module docstring)."""

    def __init__(
        self,
        offset: int = 0,
        *,
        max_line_bytes: int = 64 * 1024,
        multiline_start: re.Pattern[bytes] | None = None,
    ) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be at least 1")
        self._buffer = bytearray()
        self._buffer_offset = offset  # file offset of _buffer[0]
        self._skipping = False  # inside the rest of an over-long line
        self._max = max_line_bytes
        self._start = multiline_start
        self._open: _Open | None = None

    @property
    def safe_offset(self) -> int:
        """Where to resume after a restart: nothing before it is still pending here."""
        if self._open is not None:
            return self._open.offset
        return self._buffer_offset

    @property
    def position(self) -> int:
        """The file offset just after the last byte fed."""
        return self._buffer_offset + len(self._buffer)

    @property
    def pending(self) -> bool:
        """True when bytes or an open multiline event wait for more input or a flush."""
        return bool(self._buffer) or self._open is not None

    def feed(self, data: bytes) -> list[LineEvent]:
        """Take the next bytes; return the events they complete, in file order."""
        out: list[LineEvent] = []
        buffer = self._buffer
        buffer += data
        start = 0
        while True:
            newline = buffer.find(b"\n", start)
            if newline < 0:
                break
            line_offset = self._buffer_offset + start
            end = self._buffer_offset + newline + 1
            if self._skipping:
                self._skipping = False
            else:
                text = bytes(buffer[start:newline])
                if text.endswith(b"\r"):
                    text = text[:-1]
                self._line(
                    LineEvent(line_offset, end, text[: self._max], len(text) > self._max), out
                )
            start = newline + 1
        del buffer[:start]
        self._buffer_offset += start
        if len(buffer) > self._max:
            # An over-long line without its newline yet: emit its head now, skip the rest.
            if not self._skipping:
                head = bytes(buffer[: self._max])
                self._line(LineEvent(self._buffer_offset, self.position, head, True), out)
                self._skipping = True
            self._buffer_offset += len(buffer)
            buffer.clear()
        return out

    def flush(self, *, final: bool = False) -> list[LineEvent]:
        """Close the open multiline event; with ``final``, the partial last line too."""
        out: list[LineEvent] = []
        if final and self._buffer:
            if not self._skipping:
                text = bytes(self._buffer)
                event = LineEvent(self._buffer_offset, self.position, text.rstrip(b"\r"))
                self._line(event, out)
            self._buffer_offset += len(self._buffer)
            self._buffer.clear()
        if final:
            self._skipping = False
        if self._open is not None:
            out.append(self._close())
        return out

    def _line(self, line: LineEvent, out: list[LineEvent]) -> None:
        if self._start is None:
            out.append(line)
            return
        current = self._open
        if current is not None and not self._start.search(line.text):
            room = self._max - current.size - 1
            if room > 0:
                piece = line.text[:room]
                current.parts.append(piece)
                current.size += len(piece) + 1
            current.truncated = current.truncated or line.truncated or len(line.text) > room
            current.end = line.end
            return
        if current is not None:
            out.append(self._close())
        self._open = _Open(line.offset, line.end, [line.text], len(line.text), line.truncated)

    def _close(self) -> LineEvent:
        current = self._open
        assert current is not None
        self._open = None
        return LineEvent(current.offset, current.end, b"\n".join(current.parts), current.truncated)
