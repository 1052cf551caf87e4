"""top_count_keys on the stream when OpenSearch cannot be asked: empty counts, no error."""

from __future__ import annotations

import asyncio

from bench.procs import free_port
from bitacora.processors.alerting.top_counts_stage import TopCountsQuery
from bitacora.rules.loader import parse_rule_text
from bitacora.rules.replay import run_rules_over
from bitacora.settings import Settings
from tests.unit.rules.util import ev


def test_a_failed_query_leaves_empty_counts_and_the_alert_intact() -> None:
    rule = parse_rule_text("name: top\ntype: any\ntop_count_keys: [host.name, labels.user]\n")
    plain = rule.model_copy(update={"top_count_keys": None})
    [alert] = run_rules_over([ev(0)], [plain], lateness_s=0)
    # Nothing listens on this port: the connection is refused.
    settings = Settings(opensearch_url=f"http://127.0.0.1:{free_port()}")
    query = TopCountsQuery(settings)

    async def scenario() -> None:
        try:
            assert query.wanted(alert, rule)
            assert not query.wanted(alert, plain)
            await query.annotate(alert, rule)
        finally:
            await query.close()

    asyncio.run(scenario())
    assert alert.extra == {"top_events_host.name": {}, "top_events_labels.user": {}}
    assert query.failed == 1
