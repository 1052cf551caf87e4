"""PagerDuty Events API v2: trigger and resolve with a stable ``dedup_key``.

Trigger: ``{"routing_key", "event_action": "trigger", "dedup_key", "client", "client_url",
"payload": {"summary", "source", "severity", "timestamp", "custom_details", …}}``.
Resolve: ``{"routing_key", "event_action": "resolve", "dedup_key"}`` (PagerDuty ignores a
payload on resolve). ``routing_key`` is the rule's ``pagerduty_service_key``; the URL is
``pagerduty_events_url`` so tests point it at a local receiver.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import CaCerts, ProxyUrl


class PagerDutyOptions(base.DestinationOptions):
    """``pagerduty``: ElastAlert2's PagerDuty alerter options (Events API v2)."""

    required = ("pagerduty_service_key",)

    pagerduty_service_key: str | None = None
    pagerduty_client_name: str = "Bitácora"
    pagerduty_api_version: Literal["v2"] = "v2"
    pagerduty_v2_payload_severity: Literal["critical", "error", "warning", "info"] | None = None
    pagerduty_v2_payload_source: str | None = None
    pagerduty_v2_payload_class: str | None = None
    pagerduty_v2_payload_component: str | None = None
    pagerduty_v2_payload_group: str | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    pagerduty_ca_certs: CaCerts = None
    pagerduty_ignore_ssl_errors: bool = False
    pagerduty_proxy: ProxyUrl = None

    transport_prefix = "pagerduty_"


def pagerduty_event(
    alert: base.Alert, options: PagerDutyOptions, rendered: base.Rendered
) -> dict[str, Any]:
    """The Events API v2 body for ``alert``."""
    event: dict[str, Any] = {
        "routing_key": options.pagerduty_service_key,
        "event_action": "resolve" if alert.status == "resolved" else "trigger",
        "dedup_key": alert.dedup_key,
    }
    if alert.status == "resolved":
        return event
    source = options.pagerduty_v2_payload_source or str(
        alert.event.get("service.name") or "bitacora"
    )
    payload: dict[str, Any] = {
        "summary": rendered.subject[:1024],
        "source": source,
        "severity": options.pagerduty_v2_payload_severity or alert.severity,
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
        (options.pagerduty_v2_payload_component, "component"),
        (options.pagerduty_v2_payload_group, "group"),
        (options.pagerduty_v2_payload_class, "class"),
    ):
        if option:
            payload[name] = option
    event.update(client=options.pagerduty_client_name, client_url=alert.search_url, payload=payload)
    return event


class PagerDutyDestination(base.Destination[PagerDutyOptions]):
    """POST events to the Events API v2."""

    resolves: ClassVar[bool] = True

    async def send(
        self, alert: base.Alert, options: PagerDutyOptions, rendered: base.Rendered
    ) -> None:
        """Trigger or resolve the incident."""
        await base.post_json(
            self.session,
            options.pagerduty_events_url,
            pagerduty_event(alert, options, rendered),
            transport=options.transport(),
        )


KIND = base.DestinationKind("pagerduty", PagerDutyOptions, PagerDutyDestination)
