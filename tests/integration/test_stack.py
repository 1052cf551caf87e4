"""``bitacora stack`` end to end, on a second stack (own state dir, free ports picked at the
start) so the shared stack on the default ports, and another run of this test, keep
running."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.procs import free_port
from bitacora import stack
from bitacora.settings import Settings
from bitacora.stack import config, health, procs
from bitacora.stack.config import KAFKA_PORT_OFFSETS, OPENSEARCH_PORT_OFFSETS


@dataclass(frozen=True)
class SecondStack:
    """The second stack's environment and the ports it was given."""

    env: dict[str, str]
    opensearch_port: int
    kafka_port: int

    @property
    def opensearch_url(self) -> str:
        return f"http://127.0.0.1:{self.opensearch_port}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def settings(self) -> Settings:
        return Settings(
            state_dir=Path(self.env["BITACORA_STATE_DIR"]),
            opensearch_url=self.opensearch_url,
            kafka_bootstrap=self.kafka_bootstrap,
            opensearch_heap="1g",
            kafka_heap="512m",
        )


def _our_processes(state_dir: Path) -> list[int]:
    """Pids of every process whose command line mentions ``state_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and str(state_dir) in procs.cmdline(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def second_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondStack]:
    state_dir = tmp_path_factory.mktemp("stack-state")
    # With the ports the stack derives, none of them shared (free_port never hands a port
    # out twice): Kafka is stopped and started again here.
    opensearch_port = free_port(OPENSEARCH_PORT_OFFSETS)
    kafka_port = free_port(KAFKA_PORT_OFFSETS)
    env = {
        **os.environ,
        "BITACORA_OPENSEARCH_URL": f"http://127.0.0.1:{opensearch_port}",
        "BITACORA_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}",
        "BITACORA_STATE_DIR": str(state_dir),
        "BITACORA_OPENSEARCH_HEAP": "1g",
        "BITACORA_KAFKA_HEAP": "512m",
    }
    second = SecondStack(env, opensearch_port, kafka_port)
    yield second
    # Whatever happens in the tests, leave nothing running.
    stack.stop(second.settings())


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bitacora", "stack", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_up_twice_status_down_leaves_nothing(second_stack: SecondStack) -> None:
    env = second_stack.env
    os_port, kafka_port = second_stack.opensearch_port, second_stack.kafka_port
    state_dir = Path(env["BITACORA_STATE_DIR"])
    shared_before = [(s.service, s.running, s.pid) for s in stack.status(Settings())]

    first = _cli(env, "up")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "opensearch healthy after" in first.stdout
    assert "kafka healthy after" in first.stdout
    assert health.opensearch_healthy(second_stack.opensearch_url)
    assert health.kafka_healthy("127.0.0.1", kafka_port)
    pids = {s.service: s.pid for s in stack.status(second_stack.settings())}

    second = _cli(env, "up")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "opensearch already running" in second.stdout
    assert "kafka already running" in second.stdout
    assert {s.service: s.pid for s in stack.status(second_stack.settings())} == pids

    status = _cli(env, "status")
    assert status.returncode == 0, status.stdout
    lines = status.stdout.splitlines()
    assert lines[0].split()[:3] == ["opensearch", "running", f"pid={pids['opensearch']}"]
    assert f"port={os_port}" in lines[0]
    assert f"version={Settings().opensearch_version}" in lines[0]
    assert lines[1].split()[:3] == ["kafka", "running", f"pid={pids['kafka']}"]
    assert f"version={Settings().kafka_version}" in lines[1]
    assert all(line.split()[-1] in ("healthy", "green", "yellow") for line in lines[:2])

    env_line = _cli(env, "env")
    assert env_line.stdout.strip() == (
        f"export BITACORA_OPENSEARCH_URL={second_stack.opensearch_url} "
        f"BITACORA_KAFKA_BOOTSTRAP={second_stack.kafka_bootstrap}"
    )

    down = _cli(env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert _our_processes(state_dir) == []
    assert not any(state_dir.glob("*.pid"))
    assert not health.port_open("127.0.0.1", os_port)
    assert not health.port_open("127.0.0.1", kafka_port)
    stopped = _cli(env, "status")
    assert stopped.returncode == 1
    assert [line.split()[:2] for line in stopped.stdout.splitlines()[:2]] == [
        ["opensearch", "stopped"],
        ["kafka", "stopped"],
    ]
    # The shared stack on the default ports was not touched.
    assert [(s.service, s.running, s.pid) for s in stack.status(Settings())] == shared_before


def test_one_service_stops_and_starts_alone_and_stale_pids_are_ignored(
    second_stack: SecondStack,
) -> None:
    settings = second_stack.settings()
    kafka_port = second_stack.kafka_port
    layout = config.layout_for(settings)
    state_dir = settings.state_dir
    # A stale pid file pointing at a live stranger (this pytest process) must be ignored.
    layout.pid_file("kafka").write_text(f"{os.getpid()}\n")
    stack.ensure_up(settings)
    assert procs.read_pid(layout.pid_file("kafka")) != os.getpid()
    opensearch_pid = procs.read_pid(layout.pid_file("opensearch"))

    assert stack.stop_service(settings, "kafka") is True
    assert not health.kafka_healthy("127.0.0.1", kafka_port)
    assert health.opensearch_healthy(second_stack.opensearch_url)
    assert stack.stop_service(settings, "kafka") is False

    stack.start_service(settings, "kafka")
    assert health.kafka_healthy("127.0.0.1", kafka_port)
    assert procs.read_pid(layout.pid_file("opensearch")) == opensearch_pid

    stack.stop(settings)
    assert _our_processes(state_dir) == []
