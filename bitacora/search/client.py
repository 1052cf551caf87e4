"""The thin shell of ``bitacora search``: send the bodies from ``query`` and iterate hits.

Only this module talks to OpenSearch; it holds at most one page of hits at a time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_exc

from bitacora import clients
from bitacora.fields import lookup
from bitacora.search import query as q
from bitacora.search.errors import (
    CONNECTION_HINT,
    BadQueryError,
    SearchConnectionError,
    shorten_reason,
)
from bitacora.search.follow import FollowState
from bitacora.search.timeparse import parse_event_time, to_nanos
from bitacora.settings import Settings

Hit = dict[str, Any]
# Missing indices are an empty result, not an error: `logs-*` before the first event.
_LENIENT = {"ignore_unavailable": "true", "allow_no_indices": "true"}


def make_client(settings: Settings, *, timeout: float = 30.0) -> OpenSearch:
    """An OpenSearch client from the connection settings (credentials never logged)."""
    return clients.opensearch_client(
        settings, timeout=timeout, max_retries=1, retry_on_timeout=False
    )


@contextlib.contextmanager
def translated_errors(url: str = "") -> Iterator[None]:
    """Turn client exceptions into ``BadQueryError`` (exit 2) or ``SearchConnectionError`` (3)."""
    try:
        yield
    except os_exc.ConnectionError as exc:
        where = f" at {url}" if url else ""
        raise SearchConnectionError(f"cannot reach OpenSearch{where}: {CONNECTION_HINT}") from exc
    except os_exc.RequestError as exc:
        raise BadQueryError(f"bad query: {shorten_reason(exc.info)}") from exc
    except os_exc.TransportError as exc:
        status = exc.status_code
        raise SearchConnectionError(
            f"OpenSearch answered {status}: {shorten_reason(exc.info)}"
        ) from exc


def _search(client: OpenSearch, index: str, body: q.Body) -> dict[str, Any]:
    result: dict[str, Any] = client.search(index=index, body=body, params=_LENIENT)
    return result


def stream_hits(
    client: OpenSearch,
    params: q.SearchParams,
    *,
    limit: int,
    forward: bool,
    page_size: int = q.PAGE_SIZE,
) -> Iterator[Hit]:
    """Matching hits newest first (oldest first when ``forward``); ``limit`` 0 means all.

    Pages with ``search_after`` on ``(@timestamp, event.id)``: memory stays one page.
    """
    remaining = limit if limit > 0 else None
    after: list[Any] | None = None
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        body = q.search_body(params, size=size, forward=forward, search_after=after)
        hits: list[Hit] = _search(client, params.index, body)["hits"]["hits"]
        yield from hits
        if len(hits) < size:
            return
        after = hits[-1]["sort"]
        if remaining is not None:
            remaining -= len(hits)


def count(client: OpenSearch, params: q.SearchParams) -> int:
    """How many events match (``--count``)."""
    result = client.count(index=params.index, body=q.count_body(params), params=_LENIENT)
    return int(result["count"])


def histogram(
    client: OpenSearch,
    params: q.SearchParams,
    *,
    now: datetime,
    buckets: int = 60,
) -> tuple[list[tuple[int, int]], int]:
    """``([(bucket start ms, count)], interval seconds)`` over the requested time range.

    Without ``--from``/``--since`` the range is the oldest to the newest matching event.
    """
    start, end = params.start, params.end
    if start is None:
        bounds = _search(client, params.index, q.bounds_body(params))["aggregations"]
        if bounds["first"]["value"] is None:
            return [], 60
        start = datetime.fromtimestamp(bounds["first"]["value"] / 1000, UTC)
        if end is None:
            end = datetime.fromtimestamp(bounds["last"]["value"] / 1000, UTC) + timedelta(
                milliseconds=1
            )
    if end is None:
        end = now
    interval, width = q.pick_interval(end - start, buckets)
    body = q.histogram_body(params, to_nanos(start), to_nanos(end), interval)
    aggs = _search(client, params.index, body)["aggregations"]["per_interval"]["buckets"]
    return [(int(b["key"]), int(b["doc_count"])) for b in aggs], width


def context(client: OpenSearch, hit: Hit, lines: int, index: str) -> tuple[list[Hit], list[Hit]]:
    """The ``lines`` events before (oldest first) and after one hit, same service and pod."""
    before_body, after_body = q.context_bodies(hit["_source"], hit["sort"], lines, index)
    before: list[Hit] = _search(client, index, before_body)["hits"]["hits"]
    after: list[Hit] = _search(client, index, after_body)["hits"]["hits"]
    return list(reversed(before)), after


def hit_time_ns(hit: Hit) -> int:
    """A hit's ``@timestamp`` in nanoseconds (from its sort values when present)."""
    sort = hit.get("sort")
    if sort and isinstance(sort[0], int):
        return sort[0]
    return parse_event_time(str(lookup(hit["_source"], "@timestamp")))


def hit_id(hit: Hit) -> str:
    """A hit's ``event.id`` (its ``_id`` when the event has none)."""
    value = lookup(hit["_source"], "event.id")
    return str(value) if value is not None else str(hit["_id"])


def poll_new(
    client: OpenSearch, params: q.SearchParams, state: FollowState, page_size: int = q.PAGE_SIZE
) -> Iterator[Hit]:
    """One tail poll: the matching events in ``state``'s window not offered before."""
    after: list[Any] | None = None
    since = state.window_start_ns
    while True:
        body = q.follow_body(params, since, page_size, after)
        hits: list[Hit] = _search(client, params.index, body)["hits"]["hits"]
        for hit in hits:
            if state.accept(hit_id(hit), hit_time_ns(hit)):
                yield hit
        if len(hits) < page_size:
            break
        after = hits[-1]["sort"]
    state.prune()


def follow(
    client: OpenSearch,
    params: q.SearchParams,
    *,
    initial: int,
    now: datetime,
    stop: threading.Event,
    poll_interval_s: float = 1.0,
    overlap_s: float = 10.0,
    page_size: int = q.PAGE_SIZE,
    on_poll: Callable[[], None] | None = None,
) -> Iterator[Hit]:
    """``--tail``: the last ``initial`` events oldest first, then each new event exactly once.

    Runs until ``stop`` is set; every poll re-reads an overlap window (see ``follow``).
    """
    last = list(stream_hits(client, params, limit=initial, forward=False)) if initial > 0 else []
    last.reverse()
    cursor = hit_time_ns(last[-1]) if last else to_nanos(now)
    state = FollowState(cursor_ns=cursor, overlap_ns=int(overlap_s * 1_000_000_000))
    shown = {hit_id(hit) for hit in last}
    for hit in last:
        state.accept(hit_id(hit), hit_time_ns(hit))
        yield hit
    # Events inside the first window that were not among the last `initial` are older than
    # what was shown: mark them seen without printing them, as `tail -f` would not either.
    for hit in poll_new(client, params, state, page_size):
        if hit_id(hit) not in shown and hit_time_ns(hit) > cursor:
            yield hit
    while not stop.is_set():
        if on_poll is not None:
            on_poll()
        yield from poll_new(client, params, state, page_size)
        stop.wait(poll_interval_s)
