"""``bench.warmup.warm_opensearch`` on the real OpenSearch: it reads the JIT's time of the
local stack's JVM, stops at the first round that meets its bar, and leaves no stream."""

from __future__ import annotations

import math
import os
from pathlib import Path

import aiohttp
import pytest

from bench import services
from bench.baselines import stack_pid
from bench.warmup import FALLBACK_ROUNDS, warm_enough, warm_opensearch
from bitacora.settings import Settings


@pytest.mark.stack
async def test_warm_opensearch_loads_rounds_until_warm_and_cleans_up(settings: Settings) -> None:
    rid = services.run_id()
    rounds = await warm_opensearch(settings, round_events=1500, rid=rid)
    assert rounds
    assert warm_enough(rounds)
    assert not warm_enough(rounds[:-1])
    assert [r.documents for r in rounds] == [1500] * len(rounds)
    assert all(r.cpu_s > 0 for r in rounds)
    pid = stack_pid(settings, "opensearch")
    assert pid is not None  # the tests run on the local stack
    if Path(os.readlink(f"/proc/{pid}/exe")).with_name("jstat").exists():
        assert all(math.isfinite(r.jit_s) and r.jit_s >= 0 for r in rounds)
    else:  # a runtime without jstat: the fixed number of rounds
        assert len(rounds) == FALLBACK_ROUNDS
        assert all(math.isnan(r.jit_s) for r in rounds)
    async with aiohttp.ClientSession() as session:
        status, payload = await services.os_request(
            session, "GET", f"{settings.opensearch_url}/_data_stream/logs-rawbench{rid}-*"
        )
    assert (status, payload["data_streams"]) == (200, [])
