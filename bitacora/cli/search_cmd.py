"""``bitacora search QUERY``: ad-hoc search and tail over every stored log (logcli-like)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

import click

from bitacora import schema
from bitacora.cli.options import output_option


def _default_limit(limit: int, *, tail: bool, trace: bool) -> int:
    """An explicit --limit wins; else --tail starts with 10 lines and --trace shows it all."""
    ctx = click.get_current_context()
    if ctx.get_parameter_source("limit") is not click.core.ParameterSource.DEFAULT:
        return limit
    if tail:
        return 10
    return 0 if trace else limit


def _split_fields(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(name.strip() for name in value.split(",") if name.strip())


@click.command("search", short_help="Search and tail the logs (query_string syntax).")
@click.argument("query", required=False, default="")
@click.option("--since", help="Only events newer than this: 15m, 1h, 7d.")
@click.option("--from", "start", help="Start (inclusive): RFC 3339, a date, now-2h, or 2h (ago).")
@click.option("--to", "end", help="End (exclusive): same forms as --from.")
@click.option(
    "--timezone",
    "tz_name",
    default="UTC",
    show_default=True,
    help="Zone for shown times and for --from/--to without an offset (e.g. local, Europe/Madrid).",
)
@click.option("--service", "services", multiple=True, help="Only this service (repeatable).")
@click.option("--level", type=click.Choice(schema.LEVELS), help="This level and above.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="At most this many events; 0 streams them all.",
)
@click.option("--forward", is_flag=True, help="Oldest first (default: newest first).")
@output_option("table", "jsonl", "raw")
@click.option(
    "--fields", help="Comma-separated fields to show, e.g. @timestamp,url.path,event.duration."
)
@click.option(
    "-f", "--tail", is_flag=True, help="Show the last --limit events, then follow new ones."
)
@click.option(
    "--context",
    type=click.IntRange(min=0),
    default=0,
    help="N events before and after each hit (same service and pod).",
)
@click.option("--trace", "trace_id", help="Only the events of this trace id.")
@click.option("--count", "count_only", is_flag=True, help="Print only how many events match.")
@click.option("--histogram", is_flag=True, help="Counts per interval, drawn as bars.")
@click.option(
    "--index", default=schema.LOGS_PATTERN, show_default=True, help="Index pattern searched."
)
@click.option(
    "--poll-interval",
    type=float,
    default=1.0,
    show_default=True,
    help="Seconds between --tail polls.",
)
def search(
    query: str,
    since: str | None,
    start: str | None,
    end: str | None,
    tz_name: str,
    services: tuple[str, ...],
    level: str | None,
    limit: int,
    forward: bool,
    output: str,
    fields: str | None,
    tail: bool,
    context: int,
    trace_id: str | None,
    count_only: bool,
    histogram: bool,
    index: str,
    poll_interval: float,
) -> None:
    """Search the logs with query_string syntax, e.g. `log.level:error AND timeout`.

    \b
    Unqualified terms search message, error.message and error.type; name a field to search
    it: `service.name:order-service AND url.path:"/api/orders"`. Terms without an operator
    combine with OR, as in rule filters; fuzzy (~) and /regex/ searches are refused. Exit
    codes: 0 ok, 2 bad flags or a query Bitácora or OpenSearch rejects, 3 OpenSearch
    unreachable, 130 Ctrl-C.
    """
    from bitacora.durations import parse_duration
    from bitacora.search.client import make_client, translated_errors
    from bitacora.search.command import SearchOptions, run
    from bitacora.search.output import use_colour
    from bitacora.search.query import SearchParams
    from bitacora.search.timeparse import parse_instant, parse_timezone
    from bitacora.settings import Settings

    if since and start:
        raise click.UsageError("use --since or --from, not both")
    modes = [
        name
        for name, on in (("--tail", tail), ("--count", count_only), ("--histogram", histogram))
        if on
    ]
    if len(modes) > 1:
        raise click.UsageError(f"{' and '.join(modes)} cannot be combined")
    now = datetime.now(UTC)
    try:
        tz = parse_timezone(tz_name)
        begin = (
            now - timedelta(seconds=parse_duration(since))
            if since
            else parse_instant(start, now, tz)
            if start
            else None
        )
        finish = parse_instant(end, now, tz) if end else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    settings = Settings()
    params = SearchParams(
        query=query,
        start=begin,
        end=finish,
        services=services,
        level=level,
        trace_id=trace_id,
        index=index,
        fields=_split_fields(fields),
    )
    options = SearchOptions(
        params=params,
        limit=_default_limit(limit, tail=tail, trace=trace_id is not None),
        forward=forward or bool(trace_id),
        output=output,  # type: ignore[arg-type]  # click.Choice guarantees the literal
        tz=tz,
        colour=use_colour(sys.stdout.isatty(), os.environ),
        tail=tail,
        context=context,
        count=count_only,
        histogram=histogram,
        poll_interval_s=poll_interval,
    )
    client = make_client(settings)
    try:
        with translated_errors(settings.opensearch_url):
            run(client, options, lambda text: click.echo(text), now)
    finally:
        client.close()


COMMANDS: list[click.Command] = [search]
