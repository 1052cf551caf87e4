"""Splitting a syslog TCP stream into messages (RFC 6587), pure and incremental.

A frame starting with a digit is octet-counted (``MSG-LEN SP SYSLOG-MSG``, RFC 5425 and
RFC 6587 3.4.1); otherwise the message ends at LF (non-transparent framing, 3.4.2; a
trailing CR is dropped). Both may alternate on one connection, as rsyslog allows. A frame
over ``max_bytes`` is rejected (``frame_too_large``) and skipped without being buffered,
so the connection goes on with the next frame.
"""

from __future__ import annotations

from typing import Final

FRAME_TOO_LARGE: Final = "frame_too_large"
_MAX_DIGITS: Final = 10
_SAMPLE: Final = 256  # bytes of a rejected frame kept for its dead letter


class Framer:
    """Feed bytes, get complete messages; keeps the unfinished tail between calls."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._skip = 0  # bytes still to drop of an oversized octet-counted frame
        self._skip_line = False  # dropping an oversized LF-framed line until its LF

    def feed(self, data: bytes) -> tuple[list[bytes], list[tuple[str, bytes]]]:
        """``(messages, rejects)`` completed by ``data``; rejects are (reason, sample)."""
        buffer = self._buffer
        buffer += data
        messages: list[bytes] = []
        rejects: list[tuple[str, bytes]] = []
        start = 0
        end = len(buffer)
        while start < end:
            if self._skip:
                dropped = min(self._skip, end - start)
                self._skip -= dropped
                start += dropped
                continue
            if self._skip_line:
                newline = buffer.find(b"\n", start)
                if newline < 0:
                    start = end
                    break
                self._skip_line = False
                start = newline + 1
                continue
            first = buffer[start]
            if 0x30 <= first <= 0x39:  # a digit: maybe MSG-LEN SP
                space = buffer.find(b" ", start, start + _MAX_DIGITS + 1)
                digits = bytes(buffer[start:space]) if space > start else b""
                if digits.isdigit():
                    length = int(digits)
                    if length > self.max_bytes:
                        sample = bytes(buffer[space + 1 : space + 1 + _SAMPLE])
                        rejects.append((FRAME_TOO_LARGE, sample))
                        start = space + 1
                        self._skip = length
                        continue
                    if end - (space + 1) < length:
                        break  # wait for the rest of the frame
                    messages.append(bytes(buffer[space + 1 : space + 1 + length]))
                    start = space + 1 + length
                    continue
                if space < 0 and end - start <= _MAX_DIGITS:
                    break  # too few bytes yet to tell
            newline = buffer.find(b"\n", start)
            if newline < 0:
                if end - start > self.max_bytes:
                    rejects.append((FRAME_TOO_LARGE, bytes(buffer[start : start + _SAMPLE])))
                    self._skip_line = True
                    start = end
                break
            line = bytes(buffer[start:newline]).removesuffix(b"\r")
            if len(line) > self.max_bytes:
                rejects.append((FRAME_TOO_LARGE, line[:_SAMPLE]))
            elif line.strip():
                messages.append(line)
            start = newline + 1
        del buffer[:start]
        return messages, rejects

    def close(self) -> list[bytes]:
        """The unterminated last message, when the peer closed after it."""
        tail = bytes(self._buffer).removesuffix(b"\r")
        self._buffer.clear()
        if self._skip or self._skip_line or not tail.strip() or len(tail) > self.max_bytes:
            return []
        return [tail]
