"""`--tail` shows every new event exactly once, late ones included, across paged polls."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from opensearchpy import OpenSearch

from bitacora.search.command import SearchOptions, run
from bitacora.search.query import SearchParams
from bitacora.search.timeparse import to_nanos
from tests.helpers import seed
from tests.integration.search.conftest import Dataset

pytestmark = pytest.mark.stack


def _wait_for(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_tail_sees_every_new_event_once(search_client: OpenSearch, dataset: Dataset) -> None:
    service = "tail-svc"
    base = datetime.now(UTC).replace(microsecond=0)
    ns = to_nanos(base)
    # Older events of the same service exist before the tail starts: never shown (initial 0).
    seed.index_logs(
        search_client,
        dataset.streams,
        [seed.event(ns - 5_000_000_000, service=service, event_id="tail-old")],
    )
    params = SearchParams(index=dataset.index, services=(service,), fields=("event.id",))
    stop = threading.Event()
    seen: list[str] = []
    options = SearchOptions(
        params=params,
        output="raw",
        tail=True,
        limit=0,
        poll_interval_s=0.1,
        overlap_s=60.0,
        stop=stop,
    )
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            run(search_client, options, seen.append, base)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()

    def batch(events: list[seed.Event], total: int) -> None:
        seed.index_logs(search_client, dataset.streams, events)
        _wait_for(lambda: len(seen) >= total or errors, f"{total} events tailed")

    def at(seconds: float, event_id: str) -> seed.Event:
        return seed.event(ns + int(seconds * 1e9), service=service, event_id=event_id)

    try:
        time.sleep(0.5)  # let the tail prime its window; nothing is expected from it
        batch([at(1 + i, f"tail-a{i}") for i in range(5)], 5)
        # A late event older than the newest one shown, then two newer ones.
        batch([at(3.5, "tail-late"), at(6, "tail-b6"), at(7, "tail-b7")], 8)
        # More than a page (1000) in one poll, many with the same timestamp (id tiebreak).
        burst = [at(10 + i // 100, f"tail-c{i:04d}") for i in range(1200)]
        batch(burst, 1208)
        time.sleep(0.5)  # a few more polls: nothing may be repeated
    finally:
        stop.set()
        thread.join(timeout=30)
    assert errors == []
    assert not thread.is_alive()
    expected = (
        [f"tail-a{i}" for i in range(5)]
        + ["tail-late", "tail-b6", "tail-b7"]
        + [f"tail-c{i:04d}" for i in range(1200)]
    )
    assert seen == expected


def test_tail_starts_with_the_last_events(search_client: OpenSearch, dataset: Dataset) -> None:
    stop = threading.Event()
    stop.set()  # one priming poll only
    lines: list[str] = []
    params = SearchParams(index=dataset.index, services=("order-service",), fields=("event.id",))
    options = SearchOptions(params=params, output="raw", tail=True, limit=3, stop=stop)
    run(search_client, options, lines.append, dataset.now + timedelta(days=1))
    order = sorted(
        (e for e in dataset.events if e["service.name"] == "order-service"),
        key=lambda e: str(e["@timestamp"]),
    )
    assert lines == [str(e["event.id"]) for e in order[-3:]]
