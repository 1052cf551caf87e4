"""Microsoft Power Automate (Teams workflows) webhook, an Adaptive Card
(ElastAlert2's ``ms_power_automate`` alerter).

``POST <ms_power_automate_webhook_url>`` with ``{"type": "message", "attachments":
[{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"$schema",
"type": "AdaptiveCard", "version": "1.4", "body": [summary TextBlock, body TextBlock,
FactSet?], "actions": [...], "msteams"?: {"width": "Full"}}}]}``.
"""

from __future__ import annotations

from typing import Any

from bitacora.rules.notify.destinations import base
from bitacora.rules.option_types import StrList


class MsPowerAutomateOptions(base.DestinationOptions):
    """``ms_power_automate``: ElastAlert2's Power Automate options."""

    required = ("ms_power_automate_webhook_url",)

    ms_power_automate_webhook_url: StrList | None = None
    ms_power_automate_alert_summary: str | None = None
    ms_power_automate_summary_text_size: str = "large"
    ms_power_automate_body_text_size: str = ""
    ms_power_automate_alert_facts: list[dict[str, str]] | None = None
    ms_power_automate_teams_card_width_full: bool = False
    ms_power_automate_opensearch_discover_attach_url: bool = False
    ms_power_automate_opensearch_discover_title: str = "Discover in opensearch"
    ms_power_automate_opensearch_discover_color: str = "default"


def adaptive_card(
    alert: base.Alert, options: MsPowerAutomateOptions, rendered: base.Rendered
) -> dict[str, Any]:
    """The message with one Adaptive Card."""
    summary = {
        "type": "TextBlock",
        "text": options.ms_power_automate_alert_summary or rendered.subject,
        "weight": "Bolder",
        "wrap": True,
        "size": options.ms_power_automate_summary_text_size,
    }
    body: dict[str, Any] = {
        "type": "TextBlock",
        "text": rendered.body,
        "spacing": "Large",
        "wrap": True,
    }
    if options.ms_power_automate_body_text_size:
        body["size"] = options.ms_power_automate_body_text_size
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [summary, body],
        "actions": [],
    }
    if options.ms_power_automate_teams_card_width_full:
        content["msteams"] = {"width": "Full"}
    if options.ms_power_automate_alert_facts:
        facts = base.looked_up_facts(alert, options.ms_power_automate_alert_facts)
        content["body"].append(
            {
                "type": "FactSet",
                "facts": [{"title": fact["name"], "value": fact["value"]} for fact in facts],
            }
        )
    if options.ms_power_automate_opensearch_discover_attach_url:
        content["actions"].append(
            {
                "type": "Action.OpenUrl",
                "title": options.ms_power_automate_opensearch_discover_title,
                "url": alert.search_url,
                "style": options.ms_power_automate_opensearch_discover_color,
            }
        )
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": content}
    return {"type": "message", "attachments": [attachment]}


class MsPowerAutomateDestination(base.Destination[MsPowerAutomateOptions]):
    """Post the card to every webhook URL."""

    async def send(
        self, alert: base.Alert, options: MsPowerAutomateOptions, rendered: base.Rendered
    ) -> None:
        """Post to each URL."""
        await base.post_to_each(
            self.session,
            options.ms_power_automate_webhook_url,
            adaptive_card(alert, options, rendered),
        )


KIND = base.DestinationKind("ms_power_automate", MsPowerAutomateOptions, MsPowerAutomateDestination)
