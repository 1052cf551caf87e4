"""The benchmark's per-process CPU readings from ``/proc``."""

from __future__ import annotations

import os
import time

from bench.procs import cpu_seconds, precise_cpu_seconds


def test_precise_cpu_follows_the_cpu_this_process_spends() -> None:
    pid = os.getpid()
    before, ticks_before = precise_cpu_seconds(pid), cpu_seconds(pid)
    spent = time.process_time()
    while time.process_time() - spent < 0.3:  # spend 0.3 CPU-seconds
        pass
    got = precise_cpu_seconds(pid) - before
    # The same CPU as the kernel's tick counters (10 ms ticks) and process_time, to the tick.
    assert 0.29 <= got <= 0.35
    assert abs(got - (cpu_seconds(pid) - ticks_before)) <= 0.03
