"""The stream processes' event loop (bitacora/eventloop.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import uvloop

from bitacora.eventloop import use_event_loop
from bitacora.settings import Settings


@pytest.fixture
def policy() -> Iterator[None]:
    """The test process's policy back as it was, whatever the test set."""
    before = asyncio.get_event_loop_policy()
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(before)


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_uvloop_is_the_default() -> None:
    assert Settings().event_loop == "uvloop"


def test_each_kind_gives_its_loop_to_asyncio_run(policy: None) -> None:
    use_event_loop("uvloop")
    assert asyncio.run(_loop_type()) is uvloop.Loop
    use_event_loop("asyncio")
    assert asyncio.run(_loop_type()) is asyncio.SelectorEventLoop


def test_an_unknown_kind_is_refused_by_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITACORA_EVENT_LOOP", "tokio")
    with pytest.raises(ValueError, match="event_loop"):
        Settings()
