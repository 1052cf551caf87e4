"""What ``bitacora search`` does once its flags are parsed: pick the mode, print lines.

Kept apart from click so tests drive it with a real client and a list as output.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from opensearchpy import OpenSearch

from bitacora.search import client as shell
from bitacora.search.output import OutputFormat, context_separator, format_event, render_histogram
from bitacora.search.query import SearchParams


@dataclass(frozen=True)
class SearchOptions:
    """Everything a search run needs besides the client and the clock."""

    params: SearchParams
    limit: int = 100
    forward: bool = False
    output: OutputFormat = "table"
    tz: tzinfo = UTC
    colour: bool = False
    tail: bool = False
    context: int = 0
    count: bool = False
    histogram: bool = False
    poll_interval_s: float = 1.0
    overlap_s: float = 10.0
    stop: threading.Event = field(default_factory=threading.Event)


def run(
    client: OpenSearch, options: SearchOptions, emit: Callable[[str], None], now: datetime
) -> int:
    """Run one search, sending each output line to ``emit``; returns the number of events.

    Raises ``BadQueryError`` / ``SearchConnectionError`` for the CLI to map to exit codes.
    """
    params = options.params

    def line(hit: shell.Hit) -> str:
        return format_event(
            hit["_source"],
            options.output,
            fields=params.fields,
            tz=options.tz,
            colour=options.colour,
        )

    if options.count:
        total = shell.count(client, params)
        emit(str(total))
        return total
    if options.histogram:
        buckets, width = shell.histogram(client, params, now=now)
        for text in render_histogram(
            buckets, interval_s=width, tz=options.tz, colour=options.colour
        ):
            emit(text)
        return sum(n for _, n in buckets)
    if options.tail:
        shown = 0
        for hit in shell.follow(
            client,
            params,
            initial=options.limit,
            now=now,
            stop=options.stop,
            poll_interval_s=options.poll_interval_s,
            overlap_s=options.overlap_s,
        ):
            emit(line(hit))
            shown += 1
        return shown
    shown = 0
    hits = shell.stream_hits(client, params, limit=options.limit, forward=options.forward)
    for hit in hits:
        if options.context > 0:
            before, after = shell.context(client, hit, options.context, params.index)
            if shown:
                emit(context_separator(options.colour))
            for around in before:
                emit(line(around))
            emit(line(hit))
            for around in after:
                emit(line(around))
        else:
            emit(line(hit))
        shown += 1
    return shown
