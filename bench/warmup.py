"""Warm OpenSearch's JVM before anything is timed.

A freshly started OpenSearch runs its indexing code in the interpreter until HotSpot's JIT
compiles it, and the JIT's own threads spend OpenSearch's CPU while they compile. `make
bench` starts the stack: without a warm-up the first round's OpenSearch CPU per document
is mostly compilation, and the spread of every figure divided by it (the raw baseline's
CPU and rate) measures the JIT rather than indexing.

:func:`warm_opensearch` bulk-loads rounds of the benchmarks' own documents with the raw
loader into run streams (deleted afterwards) until a round in which the JIT took less than
:data:`STEADY_JIT_SHARE` of OpenSearch's CPU, reading the JIT's time with ``jstat`` from
the JDK that runs OpenSearch. Where that cannot be read (a stack that is not ours, a
runtime without ``jstat``), it loads :data:`FALLBACK_ROUNDS` rounds. Each round is printed,
so the warm-up's curve shows in the run's output.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import services
from bench.baselines import raw_bulk, raw_values, server_cpu, stack_pid
from bench.forward_client import plan_chunks
from bench.payloads import service_names
from bench.processor_bench import normalized_docs
from bitacora.settings import Settings

ROUND_EVENTS = 50_000
STEADY_JIT_SHARE = 0.15
MAX_ROUNDS = 20
FALLBACK_ROUNDS = 8


@dataclass(frozen=True, slots=True)
class WarmRound:
    """One warm-up round: documents, OpenSearch's CPU seconds and the JIT's share of it."""

    documents: int
    cpu_s: float
    jit_s: float  # NaN when the JIT's time cannot be read

    @property
    def jit_share(self) -> float:
        """The JIT's compile time over OpenSearch's CPU in the round (NaN if unknown).

        ``jstat`` counts the time its compile tasks took, which is close to their CPU while
        the compiler threads get a core: a share, not an exact split of the CPU."""
        return self.jit_s / self.cpu_s if self.cpu_s > 0 else float("nan")


def parse_jstat_compiler(output: str) -> float:
    """Seconds HotSpot's JIT has spent compiling so far, from ``jstat -compiler`` output
    (a header line, then ``Compiled Failed Invalid Time ...``). Raises ValueError when the
    output is not that."""
    lines = output.strip().splitlines()
    if len(lines) < 2 or lines[0].split()[:4] != ["Compiled", "Failed", "Invalid", "Time"]:
        raise ValueError(f"not jstat -compiler output: {output[:200]!r}")
    return float(lines[1].split()[3])


def jit_seconds(pid: int | None) -> float:
    """The JIT compile time of JVM ``pid`` (``jstat`` beside its ``java``); NaN if unknown."""
    if pid is None:
        return float("nan")
    try:
        jstat = Path(os.readlink(f"/proc/{pid}/exe")).with_name("jstat")
        done = subprocess.run(
            [str(jstat), "-compiler", str(pid)], capture_output=True, text=True, timeout=30
        )
        return parse_jstat_compiler(done.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return float("nan")


def warm_enough(rounds: Sequence[WarmRound]) -> bool:
    """Whether to stop warming after ``rounds``: the last round's JIT share is below
    :data:`STEADY_JIT_SHARE`, or (JIT unknown) :data:`FALLBACK_ROUNDS` rounds ran, or
    :data:`MAX_ROUNDS` did."""
    if not rounds:
        return False
    if len(rounds) >= MAX_ROUNDS:
        return True
    share = rounds[-1].jit_share
    if math.isnan(share):  # the JIT's time is unknown
        return len(rounds) >= FALLBACK_ROUNDS
    return share < STEADY_JIT_SHARE


async def warm_opensearch(
    settings: Settings, round_events: int = ROUND_EVENTS, rid: str | None = None
) -> list[WarmRound]:
    """Load rounds of benchmark documents until OpenSearch's JIT has settled (above), into
    streams named for ``rid`` (a new run id by default), deleted at the end."""
    rid = rid or services.run_id()
    prefix = f"bench{rid}"
    names = service_names(prefix)
    pid = stack_pid(settings, "opensearch")
    rounds: list[WarmRound] = []
    try:
        while not warm_enough(rounds):
            source = f"warm{len(rounds)}-{rid}"
            plans = plan_chunks(source, round_events, 500, names, seed=len(rounds))
            docs = normalized_docs(raw_values(plans), "raw")
            jit0, cpu0 = jit_seconds(pid), server_cpu(pid)
            timing = await raw_bulk(settings.opensearch_url, docs)
            done = WarmRound(len(docs), server_cpu(pid) - cpu0, jit_seconds(pid) - jit0)
            rounds.append(done)
            share = done.jit_share
            jit = "JIT time unknown" if math.isnan(share) else f"JIT {share:.0%} of its CPU"
            print(
                f"warm-up round {len(rounds)}: {done.documents:,} documents, OpenSearch "
                f"{1e6 * done.cpu_s / done.documents:.1f} µs CPU per document, "
                f"{timing.events_per_s:,.0f}/s, {jit}",
                file=sys.stderr,
                flush=True,
            )
    finally:
        async with aiohttp.ClientSession() as session:
            await services.os_delete_streams(
                session, settings.opensearch_url, f"logs-raw{prefix}-*"
            )
    return rounds
