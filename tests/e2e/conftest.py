"""End-to-end fixtures: an isolated pipeline (own topics, groups, ports, data streams)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bitacora.settings import Settings
from tests.reliability.harness import Pipeline


@pytest.fixture
async def pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    """Topics created, nothing started yet; every component stopped and cleaned up after."""
    run = Pipeline(settings)
    await run.create_topics()
    try:
        yield run
    finally:
        await run.cleanup()
