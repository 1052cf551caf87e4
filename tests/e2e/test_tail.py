"""``bitacora tail`` through the whole pipeline, with Debian's logrotate and kill -9.

A writer appends numbered lines (``source=<id> seq=<n>``) to a file while ``bitacora tail``
follows it; logrotate rotates it (create mode, then copytruncate) during the writing. What
reaches OpenSearch is counted by sequence number, exactly: nothing doubled, nothing lost.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from bench.procs import Component
from bitacora.settings import Settings
from tests.reliability.harness import (
    LOG_DIR,
    Pipeline,
    indexed_seqs,
    loss_and_duplicates,
    wait_until,
)

LOGROTATE = shutil.which("logrotate") or "/usr/sbin/logrotate"

# Opens, appends and closes per line (as many shell scripts and cron jobs do), so after a
# rename the next line goes to the new file; with O_APPEND, after a copytruncate the next
# line starts at the new end. A line can still land in the renamed file after the rename:
# the tailer keeps reading it until it is quiet.
WRITER = """\
import sys, time
path, source, count, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
for seq in range(count):
    with open(path, "a") as out:
        out.write(f"source={source} seq={seq} pad={'x' * 40}\\n")
    if pause:
        time.sleep(pause)
"""


def _start_tail(
    run: Pipeline, log: Path, positions: Path, service: str, poll_s: float = 0.05
) -> Component:
    env = {
        **run.env,
        "BITACORA_TAIL_ROTATE_WAIT_S": "1",
        "BITACORA_TAIL_POLL_INTERVAL_S": str(poll_s),
    }
    args = ["tail", str(log), "--service", service, "--positions", str(positions)]
    args += ["--from-beginning", "--loglevel", "info"]
    tail = Component("tail", args, env, LOG_DIR / run.rid / "tail.log").start()
    run.components[f"tail-{len(run.components)}"] = tail
    return tail


def _rotate(conf: Path, state: Path) -> None:
    done = subprocess.run(
        [LOGROTATE, "-f", "-s", str(state), str(conf)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"logrotate failed: {done.stderr}"


def _seqs_on_disk(directory: Path, source: str) -> Counter[int]:
    seen: Counter[int] = Counter()
    for path in directory.glob("app.log*"):
        for line in path.read_text().splitlines():
            if f"source={source} " in line:
                seen[int(line.split("seq=")[1].split()[0])] += 1
    return seen


async def _count(settings: Settings, run: Pipeline, source: str) -> Counter[int]:
    async with aiohttp.ClientSession() as session:
        return await indexed_seqs(session, settings.opensearch_url, run.pattern, source)


async def test_logrotate_create_and_copytruncate_while_writing(
    settings: Settings, tmp_path: Path
) -> None:
    run = Pipeline(settings)
    await run.create_topics()
    try:
        run.start_processor(roles=("normalize", "index"))
        log = tmp_path / "app.log"
        log.touch()
        source = f"rot-{run.rid}"
        positions = tmp_path / "positions.json"
        _start_tail(run, log, positions, f"{run.prefix}-tail")
        # The tailer stores the file's identity as it opens it: only then start writing.
        await wait_until(lambda: _exists(positions), 60, "the tailer following the file")
        state = tmp_path / "logrotate.state"
        create = tmp_path / "create.conf"
        create.write_text(f"{log} {{\n  rotate 5\n  create\n  missingok\n}}\n")
        copytruncate = tmp_path / "copytruncate.conf"
        copytruncate.write_text(f"{log} {{\n  rotate 5\n  copytruncate\n  missingok\n}}\n")
        count = 4000
        writer = subprocess.Popen(  # noqa: ASYNC220 (started, not waited for, here)
            [sys.executable, "-c", WRITER, str(log), source, str(count), "0.001"]
        )
        try:
            # Rotate while the writer is busy: after the first lines, then again later.
            await wait_until(lambda: _has_lines(log, 500), 60, "500 lines written")
            _rotate(create, state)
            await wait_until(lambda: _has_lines(log, 800), 60, "800 more lines written")
            _rotate(copytruncate, state)
            assert await asyncio.to_thread(writer.wait, 120) == 0
        finally:
            if writer.poll() is None:
                writer.kill()
        on_disk = _seqs_on_disk(tmp_path, source)
        assert (tmp_path / "app.log.1").exists()
        assert (tmp_path / "app.log.2").exists()
        # copytruncate itself loses what the writer appends between logrotate's copy and its
        # truncate (logrotate documents this); the tailer may have read those lines before
        # the truncate. Every line on disk (the live file and both rotated files, lines the
        # tailer had not read before the truncate included) is stored once; nothing else.
        expected = set(on_disk)
        seen = await _indexed(settings, run, source, expected, 180)
        lost, duplicated = loss_and_duplicates(sorted(expected), seen)
        assert lost == []
        assert duplicated == {}
        assert set(seen) <= set(range(count))
        run.assert_alive()
    finally:
        await run.cleanup()


async def test_kill_9_mid_file_then_restart_gives_exact_totals(
    settings: Settings, tmp_path: Path
) -> None:
    run = Pipeline(settings)
    await run.create_topics()
    try:
        run.start_processor(roles=("normalize", "index"))
        log = tmp_path / "app.log"
        source = f"kill-{run.rid}"
        count = 60_000
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", WRITER, str(log), source, str(count), "0"],
            check=True,
        )
        positions = tmp_path / "positions.json"
        service = f"{run.prefix}-tail"
        # A slow poll (1 MiB per file per cycle) leaves time to kill it mid-file.
        first = _start_tail(run, log, positions, service, poll_s=0.5)
        # Kill once part of the file is acknowledged (the stored offset moved) but not all.
        size = log.stat().st_size
        await wait_until(lambda: _stored_between(positions, 1, size), 120, "a partial position")
        first.kill()
        assert 0 < _stored_offset(positions) < size, "the tailer read the whole file too fast"
        _start_tail(run, log, positions, service)
        seen = await _indexed(settings, run, source, set(range(count)), 240)
        lost, duplicated = loss_and_duplicates(range(count), seen)
        assert (lost, duplicated) == ([], {})
        assert sum(seen.values()) == count
        run.assert_alive()
    finally:
        await run.cleanup()


async def _exists(path: Path) -> bool:
    return await asyncio.to_thread(path.exists)


async def _has_lines(log: Path, more: int) -> bool:
    size = await asyncio.to_thread(lambda: log.stat().st_size if log.exists() else 0)
    return size >= more * 70


def _stored_offset(positions: Path) -> int:
    import json

    try:
        files = json.loads(positions.read_text())["files"]
    except (OSError, ValueError, KeyError):
        return 0
    return max((int(f["offset"]) for f in files), default=0)


async def _stored_between(positions: Path, low: int, high: int) -> bool:
    return low <= _stored_offset(positions) < high


async def _indexed(
    settings: Settings, run: Pipeline, source: str, expected: set[int], deadline_s: float
) -> Counter[int]:
    """What is indexed once ``expected`` all is, or at the deadline (the asserts say what
    is missing)."""
    end = time.monotonic() + deadline_s
    while True:
        seen = await _count(settings, run, source)
        if expected <= set(seen) or time.monotonic() > end:
            return seen
        await asyncio.sleep(0.5)
