"""The collector and the processor run on the loop ``BITACORA_EVENT_LOOP`` names (uvloop by
default, bitacora/eventloop.py), and an event crosses the pipeline on either."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from fluent.sender import FluentSender

from bench import services
from bitacora.settings import Settings
from tests.reliability.harness import Pipeline, all_docs

DEADLINE_S = 90


def _has_uvloop(pid: int) -> bool:
    """Whether the process has uvloop's loop extension mapped (imported only to be used)."""
    return "/uvloop/loop." in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
async def test_an_event_crosses_the_pipeline_on_each_loop(settings: Settings, kind: str) -> None:
    # The default is not named for uvloop: that is what a shop gets without the setting.
    run = Pipeline(settings, extra_env={} if kind == "uvloop" else {"BITACORA_EVENT_LOOP": kind})
    await run.create_topics()
    try:
        collector = run.start_collector()
        processor = run.start_processor()
        service = f"{run.prefix}-loop-service"
        sender = FluentSender(service, port=run.forward_port)
        try:
            assert sender.emit_with_time("app", 1764320000, {"message": f"on {kind}"})
        finally:
            sender.close()
        url, stream = settings.opensearch_url, f"logs-{service}"
        async with aiohttp.ClientSession() as session:
            # Counted first: a search answers 503 while the new stream's shard starts.
            assert await services.wait_os_count(session, url, stream, 1, DEADLINE_S) == 1
            docs = await all_docs(session, url, stream)
        assert [doc["message"] for doc in docs] == [f"on {kind}"]
        # Both processes are past start-up (the event crossed them): their loops are set.
        assert _has_uvloop(collector.pid) is (kind == "uvloop")
        assert _has_uvloop(processor.pid) is (kind == "uvloop")
    finally:
        await run.cleanup()
