"""ElastAlert2's ``top_count_keys`` on the stream: counts read from OpenSearch at alert time.

As ElastAlert2 does when it alerts, the stored events of the rule's ``index`` in
``(match - timeframe, match + 10 min]`` are read, narrowed by the part of the rule's
filter OpenSearch evaluates like the engine (``rules.fields.search_filter``);
the rule's matcher and query key then select them again in-process and
``rules.top_counts.TopCounts`` counts them, the same code as replays, so a filter
OpenSearch cannot evaluate exactly still gives exact counts. At most ``MAX_EVENTS``
events are read. A failed query never holds the alert back: it is logged and the
``top_events_<field>`` values are empty.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from bitacora import clients, schema
from bitacora.durations import format_timestamp, parse_timestamp
from bitacora.rules.alerts import Alert
from bitacora.rules.engine import compile_rule, event_time
from bitacora.rules.fields import search_filter
from bitacora.rules.model import Rule
from bitacora.rules.top_counts import AFTER_S, TopCounts, window_before
from bitacora.settings import Settings

log = logging.getLogger("bitacora.notify")
MAX_EVENTS = 10_000
QUERY_TIMEOUT_S = 10.0


class TopCountsQuery:
    """Adds ``top_events_<field>`` to firing alerts of rules with ``top_count_keys``.

    It keeps no rules: the caller passes the alert's rule as it runs now (reloads included).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session: aiohttp.ClientSession | None = None
        self.failed = 0  # queries that failed (for status pages and tests)

    @staticmethod
    def wanted(alert: Alert, rule: Rule) -> bool:
        """Whether ``alert`` of ``rule`` gets top counts."""
        return alert.status == "firing" and bool(rule.top_count_keys)

    async def annotate(self, alert: Alert, rule: Rule) -> None:
        """Query OpenSearch and add the counts of ``rule`` to ``alert``; empty counts on failure."""
        if not self.wanted(alert, rule):
            return
        stamp = alert.event.get("@timestamp")
        moment = parse_timestamp(stamp) if isinstance(stamp, str) else 0.0
        try:
            events = await self._events(rule, moment - window_before(rule), moment + AFTER_S)
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError, KeyError) as exc:
            self.failed += 1
            log.warning("rule %s: top_count_keys query failed (%s)", rule.name, exc)
            for name in rule.top_count_keys or []:
                alert.extra[f"top_events_{name}"] = {}
            return
        top = TopCounts(compile_rule(rule, self.settings.allowed_lateness_s))
        last = 0.0
        for event in events:
            last = event_time(event, last)
            top.add(event, last)
        top.annotate(alert)

    async def _events(self, rule: Rule, low: float, high: float) -> list[dict[str, Any]]:
        if self.session is None:
            self.session = clients.opensearch_session(self.settings, timeout_s=QUERY_TIMEOUT_S)
        window = {
            "range": {"@timestamp": {"gt": format_timestamp(low), "lte": format_timestamp(high)}}
        }
        body = {
            "size": MAX_EVENTS,
            "query": {"bool": {"filter": [*search_filter(rule.filter), window]}},
            "sort": [{"@timestamp": "asc"}],
        }
        index = rule.index or schema.LOGS_PATTERN
        url = f"{clients.opensearch_url(self.settings)}/{index}/_search"
        params = {"ignore_unavailable": "true", "allow_no_indices": "true"}
        async with self.session.post(
            url, data=json.dumps(body), params=params, headers={"Content-Type": "application/json"}
        ) as response:
            text = await response.text()
            if response.status >= 300:
                raise ValueError(f"OpenSearch answered {response.status}: {text[:200]}")
            hits = json.loads(text)["hits"]["hits"]
        return [hit["_source"] for hit in hits]

    async def close(self) -> None:
        """Close the HTTP session."""
        if self.session is not None:
            await self.session.close()
