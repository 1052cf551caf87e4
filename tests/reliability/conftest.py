"""Fixtures of the fault suite: an isolated pipeline per test, cleaned up afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bitacora.settings import Settings
from tests.reliability.harness import Pipeline


@pytest.fixture
def rel_settings(kafka_bootstrap: str, opensearch_url: str) -> Settings:
    """Settings pointing at the real stack (from the session fixtures)."""
    return Settings(kafka_bootstrap=kafka_bootstrap, opensearch_url=opensearch_url)


@pytest.fixture
async def pipeline(rel_settings: Settings) -> AsyncIterator[Pipeline]:
    """A pipeline with its own topics, ports and streams; components are started by the test."""
    p = Pipeline(rel_settings)
    await p.create_topics()
    try:
        yield p
    finally:
        await p.cleanup()
