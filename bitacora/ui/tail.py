"""Live tail as server-sent events: each new matching event once, resumable after a drop.

Why SSE and not a websocket: the tail is one-way (server to page), and ``EventSource``
reconnects by itself sending the ``Last-Event-ID`` of the last event it received, which is
exactly the cursor needed to resume without a gap. Each event's id is
``<@timestamp ns>:<event.id>``; a resumed stream re-reads the overlap window below that
timestamp (as ``bitacora search -f`` does, see ``search/follow.py``), so an event indexed
late is still delivered, and the page drops the repeats by ``event.id``.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC

from aiohttp import web
from opensearchpy import OpenSearch

from bitacora.fields import lookup
from bitacora.search import client as shell
from bitacora.search.errors import BadQueryError, SearchConnectionError
from bitacora.search.follow import FollowState
from bitacora.search.query import SearchParams
from bitacora.search.timeparse import format_display
from bitacora.ui.config import UiConfig


def parse_resume(text: str, fallback_ns: int) -> tuple[int, str | None]:
    """``"<ns>:<event id>"`` → ``(ns, id)``; anything else resumes from ``fallback_ns``."""
    stamp, _, event_id = text.partition(":")
    try:
        return int(stamp), event_id or None
    except ValueError:
        return fallback_ns, None


def sse_message(hit: shell.Hit) -> bytes:
    """One server-sent event: id ``<ns>:<event.id>``, data the event and its display fields."""
    source = hit["_source"]
    data = {
        "id": shell.hit_id(hit),
        "time": format_display(str(lookup(source, "@timestamp")), UTC),
        "level": lookup(source, "log.level"),
        "service": lookup(source, "service.name"),
        "message": lookup(source, "message"),
        "source": source,
    }
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {shell.hit_time_ns(hit)}:{data['id']}\ndata: {payload}\n\n".encode()


async def tail_stream(
    request: web.Request, client: OpenSearch, params: SearchParams, resume: str, config: UiConfig
) -> web.StreamResponse:
    """Stream events newer than ``resume`` until the page goes away."""
    cursor, last_id = parse_resume(resume, time.time_ns())
    state = FollowState(cursor_ns=cursor, overlap_ns=int(config.tail_overlap_s * 1e9))
    if last_id:
        state.accept(last_id, cursor)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    await response.write(b"retry: 1000\n\n")
    first = True
    while True:

        def poll() -> list[shell.Hit]:
            with shell.translated_errors():
                return list(shell.poll_new(client, params, state))

        try:
            hits = await asyncio.to_thread(poll)
        except (BadQueryError, SearchConnectionError) as exc:
            # Say so on the page and keep trying: OpenSearch may be restarting.
            await response.write(f"event: problem\ndata: {json.dumps(str(exc))}\n\n".encode())
            await asyncio.sleep(max(config.tail_poll_s, 2.0))
            continue
        if first and not last_id:
            # A fresh stream starts at `resume`: older events in the window were shown already.
            hits = [h for h in hits if shell.hit_time_ns(h) > cursor]
        first = False
        for hit in hits:
            await response.write(sse_message(hit))
        if not hits:
            await response.write(b": keep-alive\n\n")
        await asyncio.sleep(config.tail_poll_s)
