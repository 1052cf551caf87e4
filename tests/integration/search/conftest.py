"""Two weeks of generated events in private data streams, shared by the search tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from opensearchpy import OpenSearch

from bitacora.search.timeparse import to_nanos
from tests.helpers import seed

SERVICES = ("order-service", "user-service", "review-service")
N_EVENTS = 2016  # one every 10 minutes for 14 days
STEP = timedelta(minutes=10)


@dataclass(frozen=True)
class Dataset:
    """The planted events (flat dotted keys) and where they live."""

    streams: seed.Streams
    events: list[seed.Event]
    start: datetime
    now: datetime

    @property
    def index(self) -> str:
        return self.streams.logs


def _level(i: int) -> str:
    if i % 97 == 0:
        return "fatal"
    if i % 10 == 0:
        return "error"
    if i % 10 == 1:
        return "warn"
    if i % 10 == 2:
        return "debug"
    return "trace" if i % 31 == 0 else "info"


def generate(start: datetime) -> list[seed.Event]:
    """Deterministic events: levels, pods, traces, HTTP fields and a few keywords."""
    events = []
    for i in range(N_EVENTS):
        service = SERVICES[i % 3]
        words = ["timeout talking to db"] if i % 7 == 0 else ["request handled"]
        if i % 11 == 0:
            words.append("payment")
        events.append(
            seed.event(
                to_nanos(start + i * STEP) + i,  # distinct nanoseconds
                service=service,
                level=_level(i),
                message=f"{' '.join(words)} #{i}",
                event_id=f"ev-{i:05d}",
                kubernetes__pod__name=f"{service}-pod-{i % 2}",
                host__name=f"node-{i % 4}",
                trace__id=f"trace-{i // 6:04d}",
                url__path=f"/api/{service.split('-')[0]}s",
                http__response__status_code=500 if i % 10 == 0 else 200,
                event__duration=(i % 13) * 1_000_000,
                event__ingested=(start + i * STEP + timedelta(seconds=2)).isoformat(),
            )
        )
    return events


@pytest.fixture(scope="session")
def search_client(opensearch_url: str) -> Iterator[OpenSearch]:
    """A client of the test stack."""
    client = OpenSearch(hosts=[opensearch_url], timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="session")
def dataset(search_client: OpenSearch) -> Iterator[Dataset]:
    """The two-week dataset, indexed once per session and deleted afterwards."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - N_EVENTS * STEP
    with seed.installed(search_client, seed.new_streams()) as streams:
        events = generate(start)
        seed.index_logs(search_client, streams, events)
        yield Dataset(streams=streams, events=events, start=start, now=now)
