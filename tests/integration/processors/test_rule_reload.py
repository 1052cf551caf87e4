"""The alerting role reloads its rule directory without a restart, on change and on SIGHUP.

A real ``bitacora processor --role alerting`` on its own topics: two of three events of a
frequency rule are evaluated, then other rules change; the third event still fires the
unchanged rule (its window survived the reload). A bad file is refused with its file,
line and key while the running rules stay.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer

from bitacora.durations import format_timestamp
from bitacora.settings import Settings
from tests.reliability.harness import Pipeline, metric, read_topic, wait_until

BURST = """\
name: reload-burst
type: frequency
query_key: service.name
num_events: 3
timeframe:
  minutes: 10
filter:
  - term:
      log.level: error
alert: [debug]
alert_subject: "${SUBJECT_PREFIX} burst"
"""

OTHER = """\
name: reload-other
type: any
filter:
  - term:
      log.level: {level}
alert: [debug]
"""

BAD = """\
name: reload-bad
type: any
bogus: 1
alert: [debug]
"""


async def _send(bootstrap: str, topic: str, service: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(count):
            event = {
                "@timestamp": format_timestamp(time.time()),
                "log.level": "error",
                "service.name": service,
                "message": f"boom {i}",
            }
            await producer.send_and_wait(topic, json.dumps(event).encode())
    finally:
        await producer.stop()


async def _alerts(bootstrap: str, topic: str, rule: str) -> list[dict[str, object]]:
    found = [json.loads(value) for _key, value in await read_topic(bootstrap, topic)]
    return [a for a in found if a["rule"] == rule]


def _metric_is(port: int, value: float, name: str, **labels: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            return await metric(port, name, **labels) == value
        except (aiohttp.ClientError, AssertionError):  # not serving yet
            return False

    return check


async def _ready(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/readyz") as response,
        ):
            return response.status == 200
    except aiohttp.ClientError:
        return False


def _start(run: Pipeline, rules: Path, interval_s: str) -> int:
    port = run.extra_env["BITACORA_PROCESSOR_HTTP_PORT"]
    run.extra_env.update(
        BITACORA_RULES_DIR=str(rules),
        BITACORA_RULES_RELOAD_INTERVAL_S=interval_s,
        SUBJECT_PREFIX="Reloaded",
    )
    run.start_processor(roles=("alerting",))
    return int(port)


async def test_a_changed_directory_reloads_and_keeps_unchanged_windows(
    settings: Settings, tmp_path: Path
) -> None:
    from bench.procs import free_port

    run = Pipeline(settings)
    run.extra_env["BITACORA_PROCESSOR_HTTP_PORT"] = str(free_port())
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "burst.yaml").write_text(BURST)
    (rules / "other.yaml").write_text(OTHER.format(level="fatal"))
    await run.create_topics()
    normalized, alerts = run.env["BITACORA_TOPIC_NORMALIZED"], run.env["BITACORA_TOPIC_ALERTS"]
    bootstrap = settings.kafka_bootstrap
    service = f"{run.prefix}-svc"
    try:
        port = _start(run, rules, "0.3")
        await wait_until(
            _metric_is(port, 2.0, "bitacora_rules_loaded"), 90, "the worker up, 2 rules"
        )
        await _send(bootstrap, normalized, service, 2)
        # Both events evaluated: the burst rule holds one state (its window of two).
        await wait_until(
            _metric_is(port, 1.0, "bitacora_alerting_state_keys"), 90, "the window state"
        )
        (rules / "other.yaml").write_text(OTHER.format(level="warn"))
        (rules / "added.yaml").write_text(OTHER.format(level="info").replace("other", "added"))
        # Two writes: a poll between them applies the first alone, then the second.
        await wait_until(_metric_is(port, 3.0, "bitacora_rules_loaded"), 30, "the reload")
        assert await metric(port, "bitacora_rules_reloads_total", outcome="applied") in (1.0, 2.0)
        assert await _alerts(bootstrap, alerts, "reload-burst") == []
        await _send(bootstrap, normalized, service, 1)
        fired = await wait_until(
            lambda: _alerts(bootstrap, alerts, "reload-burst"), 60, "the burst alert"
        )
        assert [(a["key"], a["count"], a["status"]) for a in fired] == [(service, 3, "firing")]

        bad = rules / "bad.yaml"
        bad.write_text(BAD)
        await wait_until(
            _metric_is(port, 1.0, "bitacora_rules_file_refused", file=str(bad)),
            30,
            "the refusal",
        )
        assert await metric(port, "bitacora_rules_reloads_total", outcome="refused") == 1.0
        assert await metric(port, "bitacora_rules_loaded") == 3.0
        log = run.components["processor"].log_tail()
        assert f"{bad}:3: unknown key 'bogus'" in log
        run.assert_alive()
    finally:
        await run.cleanup()


async def test_sighup_reloads_at_once(settings: Settings, tmp_path: Path) -> None:
    from bench.procs import free_port

    run = Pipeline(settings)
    run.extra_env["BITACORA_PROCESSOR_HTTP_PORT"] = str(free_port())
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "burst.yaml").write_text(BURST)
    await run.create_topics()
    try:
        port = _start(run, rules, "3600")  # no polling within the test: only the signal
        await wait_until(
            _metric_is(port, 1.0, "bitacora_rules_loaded"), 90, "the worker up, 1 rule"
        )
        (rules / "other.yaml").write_text(OTHER.format(level="fatal"))
        await wait_until(lambda: _ready(port), 90, "every service started")
        proc = run.components["processor"].proc
        assert proc is not None
        proc.send_signal(signal.SIGHUP)
        await wait_until(_metric_is(port, 2.0, "bitacora_rules_loaded"), 30, "the reload on SIGHUP")
        run.assert_alive()
    finally:
        await run.cleanup()
