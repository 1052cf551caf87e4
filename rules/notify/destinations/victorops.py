"""Splunk On-Call (VictorOps) REST endpoint integration (ElastAlert2's ``victorops``).

``POST <victorops_url>/<victorops_api_key>/<victorops_routing_key>`` with
``{"message_type", "entity_display_name", "monitoring_tool", "state_message": body,
"entity_id", …the match's fields}``. The entity id is ``victorops_entity_id`` or the
alert's dedup key, so a resolve (``message_type: RECOVERY`` with the same entity id)
closes the incident the firing alert opened. ``victorops_url`` (Bitácora's) points tests
at a local receiver.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import ProxyUrl


class VictorOpsOptions(base.DestinationOptions):
    """``victorops``: ElastAlert2's VictorOps options."""

    required = ("victorops_api_key", "victorops_routing_key", "victorops_message_type")

    victorops_api_key: str | None = None
    victorops_routing_key: str | None = None
    victorops_message_type: (
        Literal["CRITICAL", "WARNING", "ACKNOWLEDGEMENT", "INFO", "RECOVERY"] | None
    ) = None
    victorops_entity_id: str | None = None
    victorops_entity_display_name: str | None = None
    victorops_url: str = "https://alert.victorops.com/integrations/generic/20131114/alert"
    victorops_proxy: ProxyUrl = None

    transport_prefix = "victorops_"


def victorops_url(options: VictorOpsOptions) -> str:
    """The endpoint URL (it holds the API key: never log it)."""
    base = options.victorops_url.rstrip("/")
    return f"{base}/{options.victorops_api_key}/{options.victorops_routing_key}"


def victorops_event(
    alert: base.Alert, options: VictorOpsOptions, rendered: base.Rendered
) -> dict[str, Any]:
    """The request body: the match's fields under the incident fields."""
    payload: dict[str, Any] = {
        "message_type": options.victorops_message_type,
        "entity_display_name": options.victorops_entity_display_name or rendered.subject,
        "monitoring_tool": "Bitácora",
        "state_message": rendered.body,
    }
    if alert.status == "resolved":
        payload["message_type"] = "RECOVERY"
    payload.update(base.match_of(alert))
    payload["entity_id"] = options.victorops_entity_id or alert.dedup_key
    return payload


class VictorOpsDestination(base.Destination[VictorOpsOptions]):
    """Open (and, on resolve, recover) one incident."""

    resolves: ClassVar[bool] = True

    async def send(
        self, alert: base.Alert, options: VictorOpsOptions, rendered: base.Rendered
    ) -> None:
        """Post the event."""
        body = victorops_event(alert, options, rendered)
        url = victorops_url(options)
        await base.post_json(self.session, url, body, transport=options.transport())


KIND = base.DestinationKind("victorops", VictorOpsOptions, VictorOpsDestination)
