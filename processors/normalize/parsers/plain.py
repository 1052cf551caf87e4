"""Plain text lines: klog (Kubernetes components) and a level word near the start."""

from __future__ import annotations

import re
from typing import Any

from bitacora.processors.normalize.parsers.base import LineParser

_KLOG = re.compile(r"([IWEF])(\d{4} \d\d:\d\d:\d\d\.\d{6})\s+(\d+) ([^\]\s]+)\] ?(.*)", re.S)
# Upper-case words only (prose says "info" and "error" all the time), or nginx's
# "[error]" style; only the first 80 characters are searched.
_LEVEL_WORD = re.compile(
    r"(?<![\w-])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|CRITICAL|CRIT|FATAL"
    r"|PANIC|EMERG|ALERT)(?![\w-])|\[(debug|info|notice|warn|error|crit|alert|emerg)\]"
)


def parse_klog(line: str) -> dict[str, Any] | None:
    """Hints for ``I1128 09:00:00.123456       1 main.go:42] message``, or None."""
    if len(line) < 24 or line[0] not in "IWEF" or not line[1:5].isdigit():
        return None
    match = _KLOG.match(line)
    if match is None:
        return None
    level, _, thread, source, message = match.groups()
    return {
        "@level": level,
        "message": message,
        "@labels": {"source": source, "thread": int(thread)},
    }


# ASCII capitals become "U", every other byte ".": a level word needs "UUU" (ERR, WARN...).
_CAPITALS = bytes(ord("U") if 65 <= b <= 90 else ord(".") for b in range(256))


def sniff_level(line: str) -> str | None:
    """The first level word in the first 80 characters of a plain line, or None."""
    head = line[:80]
    # Cheap exact gate before the regex scan: a match needs three ASCII capitals in a row
    # or a "[" (most messages have neither: "order 5521 shipped", "Traceback (...").
    # find, not ``in``: bytes' ``in`` tries its operand as an integer first, and builds and
    # clears a TypeError for a bytes operand.
    if "[" not in head and (
        head.encode("utf-8", "surrogatepass").translate(_CAPITALS).find(b"UUU") < 0
    ):
        return None
    match = _LEVEL_WORD.search(line, 0, 80)
    if match is None:
        return None
    return match[1] or match[2]


PARSER = LineParser("klog", "IWEF", parse_klog)
