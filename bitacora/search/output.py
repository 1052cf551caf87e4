"""How ``bitacora search`` prints events, counts and histograms (pure string functions)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from bitacora.fields import lookup
from bitacora.search.timeparse import format_display

OutputFormat = Literal["table", "jsonl", "raw"]
OUTPUT_FORMATS: tuple[str, ...] = ("table", "jsonl", "raw")
TABLE_FIELDS: tuple[str, ...] = ("@timestamp", "log.level", "service.name", "message")

_RESET = "\x1b[0m"
_LEVEL_COLOURS = {
    "fatal": "\x1b[1;97;41m",
    "error": "\x1b[1;31m",
    "warn": "\x1b[33m",
    "info": "\x1b[32m",
    "debug": "\x1b[34m",
    "trace": "\x1b[2m",
}
_DIM = "\x1b[2m"
_CYAN = "\x1b[36m"
# Eighths of a block: a bar can end anywhere inside its last cell.
_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"


def use_colour(is_tty: bool, environ: Mapping[str, str]) -> bool:
    """Colour only on a terminal and never when ``NO_COLOR`` is set (to anything non-empty)."""
    return is_tty and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def format_event(
    source: Mapping[str, Any],
    fmt: OutputFormat,
    *,
    fields: Sequence[str] = (),
    tz: tzinfo = UTC,
    colour: bool = False,
) -> str:
    """One event as one line.

    ``table``: timestamp, level, service and message (or ``fields``), tab-free and aligned
    on the level; ``jsonl``: the ``_source`` (only ``fields`` when given) as JSON;
    ``raw``: the message alone, or the ``fields`` values separated by tabs.
    """
    if fmt == "jsonl":
        src = dict(source)
        if fields:
            src = {name: lookup(src, name) for name in fields}
        return json.dumps(src, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if fmt == "raw":
        if fields:
            return "\t".join(_text(lookup(source, name)) for name in fields)
        return _text(lookup(source, "message")).replace("\n", "\\n")
    columns = fields or TABLE_FIELDS
    cells: list[str] = []
    for name in columns:
        value = lookup(source, name)
        if name == "@timestamp" and isinstance(value, str):
            cell = format_display(value, tz)
            cells.append(f"{_DIM}{cell}{_RESET}" if colour else cell)
        elif name == "log.level":
            level = _text(value)
            cell = f"{level.upper():<5}"
            cells.append(f"{_LEVEL_COLOURS.get(level, '')}{cell}{_RESET}" if colour else cell)
        elif name == "service.name":
            cell = _text(value)
            cells.append(f"{_CYAN}{cell}{_RESET}" if colour else cell)
        else:
            cells.append(_text(value).replace("\n", "\\n"))
    return "  ".join(cells)


def context_separator(colour: bool) -> str:
    """The line between context groups, as ``grep -C`` prints it."""
    return f"{_DIM}--{_RESET}" if colour else "--"


def bar(count: int, peak: int, width: int) -> str:
    """A horizontal bar of ``count`` relative to ``peak`` in ``width`` cells (eighth steps)."""
    if peak <= 0 or count <= 0:
        return ""
    eighths = max(1, round(count * width * 8 / peak))
    full, rest = divmod(eighths, 8)
    return _FULL * full + (_EIGHTHS[rest] if rest else "")


def render_histogram(
    buckets: Sequence[tuple[int, int]],
    *,
    interval_s: int,
    tz: tzinfo = UTC,
    width: int = 50,
    colour: bool = False,
) -> list[str]:
    """Lines ``<bucket start>  <bar>  <count>``; buckets are ``(start_ms, count)``."""
    peak = max((count for _, count in buckets), default=0)
    pattern = (
        "%Y-%m-%d"
        if interval_s >= 86400
        else "%Y-%m-%d %H:%M"
        if interval_s >= 60
        else "%Y-%m-%d %H:%M:%S"
    )
    digits = len(str(peak))
    lines = []
    for start_ms, count in buckets:
        label = datetime.fromtimestamp(start_ms / 1000, UTC).astimezone(tz).strftime(pattern)
        drawn = bar(count, peak, width)
        if colour and drawn:
            drawn = f"{_CYAN}{drawn}{_RESET}"
        lines.append(f"{label}  {count:>{digits}}  {drawn}".rstrip())
    total = sum(count for _, count in buckets)
    lines.append(f"total {total} in {len(buckets)} buckets")
    return lines
