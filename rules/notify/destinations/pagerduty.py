"""PagerDuty Events API v2: trigger and resolve with a stable ``dedup_key``.

Trigger: ``{"routing_key", "event_action": "trigger", "dedup_key", "client", "client_url",
"payload": {"summary", "source", "severity", "timestamp", "custom_details", …}}``.
Resolve: ``{"routing_key", "event_action": "resolve", "dedup_key"}`` (PagerDuty ignores a
payload on resolve). ``routing_key`` is the rule's ``pagerduty_service_key``; the URL is
``pagerduty_events_url`` so tests point it at a local receiver.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp

from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.base import Destination, post_json
from bitacora.rules.notify.templates import Rendered


def pagerduty_event(alert: Alert, rule: Rule, rendered: Rendered) -> dict[str, Any]:
    """The Events API v2 body for ``alert``."""
    base: dict[str, Any] = {
        "routing_key": rule.pagerduty_service_key,
        "event_action": "resolve" if alert.status == "resolved" else "trigger",
        "dedup_key": alert.dedup_key,
    }
    if alert.status == "resolved":
        return base
    source = rule.pagerduty_v2_payload_source or str(alert.event.get("service.name") or "bitacora")
    payload: dict[str, Any] = {
        "summary": rendered.subject[:1024],
        "source": source,
        "severity": rule.pagerduty_v2_payload_severity or alert.severity,
        "timestamp": alert.last_event_time,
        "custom_details": {
            "rule": alert.rule,
            "key": alert.key,
            "count": alert.count,
            "first_event_time": alert.first_event_time,
            "last_event_time": alert.last_event_time,
            "search_query": alert.search_query,
            "search_command": alert.search_command,
            "details": rendered.body,
        },
    }
    for option, name in (
        (rule.pagerduty_v2_payload_component, "component"),
        (rule.pagerduty_v2_payload_group, "group"),
        (rule.pagerduty_v2_payload_class, "class"),
    ):
        if option:
            payload[name] = option
    base.update(client=rule.pagerduty_client_name, client_url=alert.search_url, payload=payload)
    return base


class PagerDutyDestination(Destination):
    """POST events to the Events API v2."""

    name: ClassVar[str] = "pagerduty"
    resolves: ClassVar[bool] = True

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def send(self, alert: Alert, rule: Rule, rendered: Rendered) -> None:
        """Trigger or resolve the incident."""
        await post_json(
            self.session, rule.pagerduty_events_url, pagerduty_event(alert, rule, rendered)
        )
