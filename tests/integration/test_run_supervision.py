"""``bitacora run`` leaves no child behind: SIGHUP, SIGTERM, and kill -9 of the parent itself.

Runs the real command (collector, the three processor roles, the console) on its own app id, topics
and ports, waits until every child answers ``/healthz``, signals the parent, and polls
until every child pid is gone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from bench.procs import free_port


def _children(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(parent):
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            status: int = response.status
            return status == 200
    except (urllib.error.URLError, OSError):
        return False


def _diagnosis(pids: list[int], log_dir: Path) -> str:
    """What the lingering children were doing: their command lines, Python stacks
    (py-spy, a dev dependency) and the tails of the run's child logs."""
    parts = []
    py_spy = Path(sys.executable).with_name("py-spy")
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            argv = "(gone)"
        dump = subprocess.run(
            [str(py_spy), "dump", "--pid", str(pid)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        parts.append(f"--- pid {pid}: {argv}\n{dump.stdout}{dump.stderr}")
    for log in sorted(log_dir.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        parts.append(f"--- {log.name} (last lines)\n" + "\n".join(tail))
    return "\n".join(parts)


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [n for n in await admin.list_topics() if n.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM, signal.SIGKILL])
def test_children_stop_with_the_run(
    signum: signal.Signals, kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    unique = f"run-{uuid.uuid4().hex[:8]}"
    http_port, processor_base, ui_port = free_port(), free_port((0, 1, 2)), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BITACORA_")}
    env.update(
        BITACORA_KAFKA_BOOTSTRAP=kafka_bootstrap,
        BITACORA_OPENSEARCH_URL=opensearch_url,
        BITACORA_APP_ID=unique,
        BITACORA_TOPIC_RAW=f"{unique}.raw",
        BITACORA_TOPIC_NORMALIZED=f"{unique}.normalized",
        BITACORA_TOPIC_DEADLETTER=f"{unique}.deadletter",
        BITACORA_TOPIC_ALERTS=f"{unique}.alerts",
        BITACORA_TOPIC_PARTITIONS="2",
        BITACORA_FORWARD_PORT=str(free_port()),
        BITACORA_HTTP_PORT=str(http_port),
        BITACORA_PROCESSOR_HTTP_PORT=str(processor_base),
        BITACORA_UI_PORT=str(ui_port),
        BITACORA_STATE_DIR=str(tmp_path / "state"),
        BITACORA_PROCESSOR_DATA_DIR=str(tmp_path / "faust"),
    )
    run = subprocess.Popen(
        [sys.executable, "-m", "bitacora", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        ports = [http_port, processor_base, processor_base + 1, processor_base + 2]
        # (the console, a fifth child, is waited for through its pid below)
        while not all(_healthy(p) for p in ports):
            assert run.poll() is None, "bitacora run exited early"
            assert time.monotonic() < deadline, "the children never answered /healthz"
            time.sleep(0.3)
        pids = _children(run.pid)
        assert len(pids) == 5  # collector, three processor roles, the console
        run.send_signal(signum)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in pids):
            still = sorted(pid for pid in pids if _alive(pid))
            if time.monotonic() >= deadline:
                diagnosis = _diagnosis(still, tmp_path / "state" / "run")
                raise AssertionError(f"children outlived the run: {still}\n{diagnosis}")
            time.sleep(0.2)
        code = run.wait(30)
        assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 0)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        asyncio.run(_delete_topics(kafka_bootstrap, unique))
