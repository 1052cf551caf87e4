"""Fixtures of the fault suite: an isolated pipeline per test, cleaned up afterwards."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bitacora.settings import Settings
from tests.reliability.harness import Pipeline
from tests.reliability.results import numbers_from, scenario_of, update


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


_OUTCOMES: dict[int, tuple[str, str, str]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each scenario's outcome and the numbers it printed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    number = scenario_of(item.name)
    if number is None or (report.when != "call" and not report.failed):
        return
    result = "pass" if report.passed else ("skipped" if report.skipped else "FAIL")
    numbers = numbers_from(report.capstdout, number)
    if report.failed and not numbers:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr)
        numbers = message.strip().splitlines()[0][:200].replace("|", "/")
    _OUTCOMES[number] = (result, numbers, time.strftime("%Y-%m-%d", time.gmtime()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the table when asked (``make soak`` sets BITACORA_RELIABILITY_REPORT=1)."""
    if _OUTCOMES and os.environ.get("BITACORA_RELIABILITY_REPORT"):
        update(_OUTCOMES)
