"""A stalled Alertmanager delays only the key being delivered, on the real stack: while
the re-send of one key's alert hangs, another key's alert is delivered; that key's
resolve waits for the re-send and goes out after it, and nothing is re-sent after it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bitacora.rules.alerts import dedup_key
from bitacora.rules.model import Rule
from tests.integration.rules.receivers import Received, http_receiver
from tests.integration.rules.test_stream_aggregation import _settings, alerting, topics
from tests.integration.rules.test_stream_alerts import Events, until

FAST_RESEND_S = 0.2  # the re-send timer's period here (60 s in production)
RULE = "am-stall"
HELD, PROMPT = "svc-held", "svc-prompt"


def am_rule(url: str) -> Rule:
    return Rule.model_validate(
        {
            "name": RULE,
            "type": "frequency",
            "num_events": 2,
            "timeframe": "1h",  # longer than the test: only the recovery event resolves
            "query_key": "service.name",
            "filter": [{"term": {"log.level": "error"}}],
            "resolve_filter": [{"term": {"log.level": "info"}}],
            "alert": "alertmanager",
            "alertmanager_hosts": [url],
        }
    )


def key_of(request: Received) -> str:
    return str(request.body[0]["labels"]["key"])


def resolving(body: Any) -> bool:
    return str(body[0]["annotations"]["summary"]).startswith("[RESOLVED] ")


async def test_a_stalled_resend_delays_only_its_own_key(
    kafka_bootstrap: str, opensearch_url: str, tmp_path: Path
) -> None:
    settings = _settings(kafka_bootstrap, opensearch_url, tmp_path)
    async with (
        http_receiver() as receiver,
        topics(settings) as producer,
        alerting(settings, am_rule(receiver.url), None, FAST_RESEND_S) as service,
    ):

        def of(key: str) -> list[Received]:
            return [r for r in receiver.requests if key_of(r) == key]

        await Events(producer, settings.topic_normalized, HELD).send(2)
        await until(lambda: len(of(HELD)) >= 1, f"{HELD} firing")
        # Alertmanager stalls on HELD's firing alert: its next re-send hangs.
        receiver.hold = lambda body: body[0]["labels"]["key"] == HELD and not resolving(body)
        await until(lambda: receiver.held_open() == 1, f"{HELD}'s re-send held")
        await Events(producer, settings.topic_normalized, PROMPT).send(2)
        await until(lambda: len(of(PROMPT)) >= 1, f"{PROMPT} delivered")
        # It arrived while HELD's re-send was still waiting for its answer (the client gives
        # up after 10 s; deciding and sending PROMPT takes about a second, loaded too). With
        # one lock for every key it arrives only once the re-send gave up: held_open 0.
        assert of(PROMPT)[0].held_open == 1
        assert not resolving(of(PROMPT)[0].body)
        # HELD recovers: its resolve waits for the re-send in flight (the key's lock).
        await Events(producer, settings.topic_normalized, HELD).recover()
        locked = dedup_key(RULE, HELD).encode()
        await until(lambda: service.key_locks.users(locked) == 2, "the resolve waiting")
        assert not any(resolving(r.body) for r in of(HELD))
        receiver.release.set()
        await until(lambda: resolving(of(HELD)[-1].body), f"{HELD} resolved")
        assert of(HELD)[-1].held_open == 0  # after the re-send was answered
        assert [resolving(r.body) for r in of(HELD)] == [False] * (len(of(HELD)) - 1) + [True]
        # Nothing of HELD is re-sent after its resolve.
        settled = len(of(HELD))
        ticks = service.resend_ticks
        await until(lambda: service.resend_ticks >= ticks + 3, "three re-send timer runs")
        assert len(of(HELD)) == settled
        assert not any(resolving(r.body) for r in of(PROMPT))
