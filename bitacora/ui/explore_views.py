"""Explore's handlers: the search page, an event's context, the live tail stream."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bitacora import schema
from bitacora.search import client as shell
from bitacora.search import query as q
from bitacora.search.timeparse import to_nanos
from bitacora.ui import charts, explore
from bitacora.ui.tail import tail_stream
from bitacora.ui.web import CLIENT, CONFIG, os_search, page, utc_now, whole


async def explore_page(request: web.Request) -> web.Response:
    """``/``: the query, the level histogram, the top values and the matching events."""
    config = request.app[CONFIG]
    now = utc_now()
    req = explore.parse_request(
        {k: request.query.getall(k) for k in request.query}, now, config.logs_pattern
    )
    params = req.params
    forward = params.trace_id is not None

    def hits() -> list[shell.Hit]:
        with shell.translated_errors():
            return list(
                shell.stream_hits(request.app[CLIENT], params, limit=req.limit, forward=forward)
            )

    rows = await asyncio.to_thread(hits)
    tops = explore.top_values(
        await os_search(request, params.index, explore.top_values_body(params))
    )
    chart = ""
    bounds = await os_search(request, params.index, q.bounds_body(params))
    agg = bounds.get("aggregations")  # absent when no index matches the pattern yet
    first, last = (agg["first"]["value"], agg["last"]["value"]) if agg else (None, None)
    span = explore.histogram_range(params, now, (first, last))
    if span is not None:
        body, width = explore.level_histogram_body(params, *span)
        starts, series = explore.split_buckets(await os_search(request, params.index, body))
        chart = charts.stacked_time_bars(starts, series, width_s=width, title="Events by level")
    newest = max(rows, key=shell.hit_time_ns) if rows else None
    resume = (
        f"{shell.hit_time_ns(newest)}:{shell.hit_id(newest)}" if newest else f"{to_nanos(now)}:"
    )
    return page(
        request,
        "explore.html.j2",
        req=req,
        rows=[hit["_source"] for hit in rows],
        tops=tops,
        chart=chart,
        resume=resume,
        since_choices=explore.SINCE_CHOICES,
        levels=schema.LEVELS,
    )


async def context_page(request: web.Request) -> web.Response:
    """``/context?id=``: the events before and after one event, same service and pod."""
    config = request.app[CONFIG]
    event_id = request.query.get("id", "")
    lines = whole(request.query.get("n", "10"), "n", 1, 200)
    found = (await os_search(request, config.logs_pattern, explore.event_by_id_body(event_id)))[
        "hits"
    ]["hits"]
    if not found:
        raise web.HTTPNotFound(text=f"no event with id {event_id}")
    hit = found[0]

    def around() -> tuple[list[shell.Hit], list[shell.Hit]]:
        with shell.translated_errors():
            return shell.context(request.app[CLIENT], hit, lines, config.logs_pattern)

    before, after = await asyncio.to_thread(around)
    return page(
        request,
        "context.html.j2",
        event=hit["_source"],
        before=[h["_source"] for h in before],
        after=[h["_source"] for h in after],
        args={},
    )


async def tail(request: web.Request) -> web.StreamResponse:
    """``/api/tail``: server-sent events of new matching events (see ``tail.py``)."""
    config = request.app[CONFIG]
    req = explore.parse_request(
        {k: request.query.getall(k) for k in request.query}, utc_now(), config.logs_pattern
    )
    resume = request.headers.get("Last-Event-ID") or request.query.get("last", "")
    return await tail_stream(request, request.app[CLIENT], req.params, resume, config)
