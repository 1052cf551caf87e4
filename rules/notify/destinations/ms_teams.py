"""Microsoft Teams incoming webhook, MessageCard (ElastAlert2's ``ms_teams`` alerter).

``POST <ms_teams_webhook_url>`` with ``{"@type": "MessageCard", "@context":
"http://schema.org/extensions", "summary", "title", "sections": [{"text": body,
"facts"?}], "themeColor"?, "potentialAction"?}``. ``ms_teams_alert_facts`` entries
``{name, value}`` take ``value`` as a field of the match (its text where the field is
missing); ``ms_teams_attach_opensearch_discover_url`` adds an "open" action to the
alert's search link.
"""

from __future__ import annotations

from typing import Any

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import CaCerts, ProxyUrl
from bitacora.rules.option_types import StrList


class MsTeamsOptions(base.DestinationOptions):
    """``ms_teams``: ElastAlert2's Microsoft Teams options."""

    required = ("ms_teams_webhook_url",)

    ms_teams_webhook_url: StrList | None = None
    ms_teams_alert_summary: str | None = None
    ms_teams_alert_fixed_width: bool = False
    ms_teams_theme_color: str = ""
    ms_teams_alert_facts: list[dict[str, str]] | None = None
    ms_teams_attach_opensearch_discover_url: bool = False
    ms_teams_opensearch_discover_title: str = "Discover in opensearch"
    ms_teams_ca_certs: CaCerts = None
    ms_teams_ignore_ssl_errors: bool = False
    ms_teams_proxy: ProxyUrl = None

    transport_prefix = "ms_teams_"


def fixed_width(body: str) -> str:
    """ElastAlert2's fixed-width body: each line in its own code span."""
    body = body.replace("`", "'")
    return "```{}```".format("```\n\n```".join(body.split("\n"))).replace("\n``````", "")


def ms_teams_card(
    alert: base.Alert, options: MsTeamsOptions, rendered: base.Rendered
) -> dict[str, Any]:
    """The MessageCard body."""
    body = fixed_width(rendered.body) if options.ms_teams_alert_fixed_width else rendered.body
    section: dict[str, Any] = {"text": body}
    if options.ms_teams_alert_facts:
        section["facts"] = base.looked_up_facts(alert, options.ms_teams_alert_facts)
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "summary": options.ms_teams_alert_summary or rendered.subject,
        "title": rendered.subject,
        "sections": [section],
    }
    if options.ms_teams_theme_color:
        card["themeColor"] = options.ms_teams_theme_color
    if options.ms_teams_attach_opensearch_discover_url:
        target = {"os": "default", "uri": alert.search_url}
        card["potentialAction"] = [
            {
                "@type": "OpenUri",
                "name": options.ms_teams_opensearch_discover_title,
                "targets": [target],
            }
        ]
    return card


class MsTeamsDestination(base.Destination[MsTeamsOptions]):
    """Post the card to every webhook URL."""

    async def send(
        self, alert: base.Alert, options: MsTeamsOptions, rendered: base.Rendered
    ) -> None:
        """Post to each URL."""
        await base.post_to_each(
            self.session,
            options.ms_teams_webhook_url,
            ms_teams_card(alert, options, rendered),
            transport=options.transport(),
        )


KIND = base.DestinationKind("ms_teams", MsTeamsOptions, MsTeamsDestination)
