"""An error burst through the whole pipeline pages exactly once at a real local receiver:
fluent-logger → collector → Kafka → normalize → alerting (rules from BITACORA_RULES_DIR)."""

from __future__ import annotations

from pathlib import Path

from fluent.sender import FluentSender

from bench.services import alerting_lag
from bitacora.settings import Settings
from tests.integration.rules.receivers import http_receiver
from tests.reliability.harness import Pipeline, wait_until

RULE = """\
name: e2e-burst-{suffix}
type: frequency
query_key: service.name
num_events: 5
timeframe:
  minutes: 1
filter:
  - term:
      log.level: error
  - query:
      query_string:
        query: 'service.name:"{service}"'
realert:
  minutes: 10
alert: post
http_post_url: "{url}/hook"
alert_subject: "Error burst in {{0}}"
alert_subject_args: [service.name]
"""


async def test_an_error_burst_pages_once(settings: Settings, tmp_path: Path) -> None:
    async with http_receiver() as receiver:
        run = Pipeline(settings)
        service = f"{run.prefix}-checkout"
        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "burst.yaml").write_text(
            RULE.format(suffix=run.rid, service=service, url=receiver.url)
        )
        run.extra_env["BITACORA_RULES_DIR"] = str(rules)
        await run.create_topics()
        try:
            run.start_collector()
            run.start_processor(roles=("normalize", "alerting"))
            sender = FluentSender(service, port=run.forward_port, nanosecond_precision=True)
            try:
                for i in range(7):
                    assert sender.emit("app", {"level": "ERROR", "message": f"{{{{ 7*7 }}}} #{i}"})
            finally:
                sender.close()
            requests = await receiver.wait_for(1, deadline_s=120)
            # Every event, keyed record and alert consumed: nothing else can still page.
            await wait_until(
                lambda: _drained(settings.kafka_bootstrap, run.env), 60, "the alerting role idle"
            )
            assert len(requests) == 1
            payload = requests[0].body
            # ElastAlert2's `post` sends the matching event's fields; log text stays literal.
            assert payload["service.name"] == service
            assert payload["log.level"] == "error"
            assert payload["message"].startswith("{{ 7*7 }} #")
            run.assert_alive()
        finally:
            await run.cleanup()


async def _drained(bootstrap: str, env: dict[str, str]) -> bool:
    return await alerting_lag(bootstrap, env) == 0
