"""`bitacora run` starts the console with the pipeline and prints its URL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bench.procs import free_port
from tests.reliability.harness import Pipeline, wait_until


async def test_run_prints_the_console_url_and_serves_it(pipeline: Pipeline, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        **pipeline.env,
        "BITACORA_UI_PORT": str(port),
        "BITACORA_STATE_DIR": str(tmp_path / "state"),
        "BITACORA_PROCESSOR_HTTP_PORT": str(free_port()),
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 (nothing else runs on this loop meanwhile)
        [sys.executable, "-m", "bitacora", "run", "--duration", "120"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while not any(line.startswith("Console: ") for line in lines):
            assert time.monotonic() < deadline, lines
            line = proc.stdout.readline()
            assert line, f"bitacora run ended: {lines}"
            lines.append(line)
        url = next(line for line in lines if line.startswith("Console: "))[9:].strip()
        assert url == f"http://127.0.0.1:{port}/"

        async def answers() -> bool:
            try:
                async with aiohttp.ClientSession() as session, session.get(url) as response:
                    return response.status == 200 and "Explore" in await response.text()
            except aiohttp.ClientError:
                return False

        await wait_until(answers, 60, "the console to answer")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
