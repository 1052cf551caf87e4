"""``bitacora send`` and the collector's file input against the real Kafka."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bench.procs import BITACORA, free_port
from bitacora import rawrecord
from bitacora.settings import Settings
from tests.reliability.harness import Pipeline, read_raw_events, read_topic, wait_until


async def _send(env: dict[str, str], stdin: bytes, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        BITACORA,
        "send",
        *args,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate(stdin)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_send_publishes_every_line_with_offsets_as_positions(settings: Settings) -> None:
    run = Pipeline(settings)
    await run.create_topics()
    try:
        lines = b'one\ntwo \xff\n{"a": 1}\nlast without newline'
        code, err = await _send(run.env, lines, "--service", "cron-job")
        assert (code, err) == (0, "")
        raws = await read_raw_events(run.settings.kafka_bootstrap, run.topics[0])
        raws.sort(key=lambda r: r.position)
        assert [(r.tag, r.transport, r.position) for r in raws] == [
            ("cron-job.send", "stdin", 0),
            ("cron-job.send", "stdin", 4),
            ("cron-job.send", "stdin", 10),
            ("cron-job.send", "stdin", 19),
        ]
        assert len({r.chunk for r in raws}) == 1
        texts = [r.record["log"].encode("utf-8", "surrogateescape") for r in raws]
        assert texts == [b"one", b"two \xff", b'{"a": 1}', b"last without newline"]
    finally:
        await run.cleanup()


async def test_send_json_lines_become_fields_and_bad_ones_dead_letters(settings: Settings) -> None:
    run = Pipeline(settings)
    await run.create_topics()
    try:
        code, err = await _send(
            run.env, b'{"status": "ok"}\nnot json\n', "--service", "j", "--json"
        )
        assert code == 0
        assert err == "warning: 1 line(s) were not JSON objects (kept in the dead letter)\n"
        raws = await read_raw_events(run.settings.kafka_bootstrap, run.topics[0])
        assert [r.record for r in raws] == [{"status": "ok"}]
        assert len(await read_topic(run.settings.kafka_bootstrap, run.topics[2])) == 1
    finally:
        await run.cleanup()


async def test_send_exits_3_when_kafka_does_not_acknowledge(settings: Settings) -> None:
    port = free_port()
    env = {"BITACORA_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}
    code, err = await _send(env, b"a line\n", "--service", "x", "--timeout", "1")
    assert code == 3
    assert err.startswith("error: stopped after 0 line(s): Kafka did not acknowledge within 1 s")
    assert err.endswith(f"check Kafka at 127.0.0.1:{port} and send the rest again\n")
    assert err.count("\n") == 1


async def test_collector_follows_tail_paths(settings: Settings, tmp_path: Path) -> None:
    run = Pipeline(settings)
    log = tmp_path / "flores-web.log"
    log.write_bytes(b"first\n")
    run.extra_env.update(
        {
            "BITACORA_TAIL_PATHS": str(tmp_path / "*.log"),
            "BITACORA_TAIL_FROM_BEGINNING": "true",
            "BITACORA_STATE_DIR": str(tmp_path / "state"),
        }
    )
    await run.create_topics()
    try:
        run.start_collector()
        with log.open("ab") as out:
            out.write(b"second\n")
        (tmp_path / "other.log").write_bytes(b"new file\n")  # a new glob match

        async def records() -> list[rawrecord.RawRecord] | None:
            raws = await read_raw_events(run.settings.kafka_bootstrap, run.topics[0])
            return raws if len(raws) >= 3 else None

        raws = await wait_until(records, 60, "three lines in Kafka")
        got = sorted((r.tag, r.record["log"], r.record["log.file.path"]) for r in raws)
        assert got == [
            ("flores-web.file", "first", str(log)),
            ("flores-web.file", "second", str(log)),
            ("other.file", "new file", str(tmp_path / "other.log")),
        ]
        assert {r.transport for r in raws} == {"file"}
        assert list((tmp_path / "state" / "tail").glob("positions-*.json")) != []
        run.assert_alive()
    finally:
        await run.cleanup()
