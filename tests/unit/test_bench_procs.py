"""The benchmark's per-process CPU readings from ``/proc``."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from bench.procs import (
    cpu_seconds,
    ephemeral_range,
    free_port,
    outside_ephemeral_range,
    precise_cpu_seconds,
)


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


def test_free_ports_lie_outside_the_kernels_ephemeral_range_and_are_free_for_tcp_and_udp() -> None:
    ephemeral = ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50  # never the same port twice in one process
    for port in ports:
        assert port not in ephemeral
        assert 1024 <= port <= 65535
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(socket.AF_INET, kind) as sock:
                sock.bind(("127.0.0.1", port))


def test_a_port_something_holds_or_that_was_given_is_not_handed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        # Two candidates: one taken for UDP only, one free.
        monkeypatch.setattr("bench.procs.outside_ephemeral_range", lambda _: [port, other])
        monkeypatch.setattr("bench.procs._PORTS_GIVEN", set())
        assert free_port() == other
        with pytest.raises(RuntimeError, match="no free ports at offsets"):
            free_port()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("32768\t60999\n", range(32768, 61000)),
        ("1024 65000\n", range(1024, 65001)),
        ("", range(32768, 61000)),
    ],
)
def test_the_ephemeral_range_is_read_from_proc(tmp_path: Path, text: str, expected: range) -> None:
    path = tmp_path / "ip_local_port_range"
    path.write_text(text)
    assert ephemeral_range(path) == expected


@pytest.mark.parametrize(
    ("ephemeral", "expected"),
    [
        (range(32768, 61000), range(22768, 32768)),
        (range(2000, 61000), range(61000, 65536)),
        (range(1024, 65536), range(1024, 1024)),
    ],
)
def test_ports_are_drawn_beside_the_ephemeral_range(ephemeral: range, expected: range) -> None:
    assert outside_ephemeral_range(ephemeral) == expected


def test_a_base_port_comes_with_every_offset_free_and_none_shared() -> None:
    offsets = (0, 1, 2, 3, 100)
    bases = [free_port(offsets) for _ in range(20)]
    ports = [base + offset for base in bases for offset in offsets]
    assert len(set(ports)) == len(ports)
    assert not set(ports) & set(ephemeral_range())
    assert free_port() not in ports
