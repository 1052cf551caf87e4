"""Slack incoming webhook: ``{"text": fallback, "blocks": [...]}``.

Slack reads ``&``, ``<`` and ``>`` as markup, so they are escaped as Slack documents
(``&amp;``, ``&lt;``, ``&gt;``): log text shows literally and cannot form links or mentions.
"""

from __future__ import annotations

from typing import Any

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import CaCerts, ProxyUrl, Timeout
from bitacora.rules.option_types import StrList


class SlackOptions(base.DestinationOptions):
    """``slack``: ElastAlert2's Slack alerter options."""

    required = ("slack_webhook_url",)

    slack_webhook_url: StrList | None = None
    slack_username_override: str | None = None
    slack_channel_override: str | None = None
    slack_emoji_override: str | None = None
    slack_title: str | None = None
    slack_title_link: str | None = None
    slack_timeout: Timeout = 10.0
    slack_ca_certs: CaCerts = None
    slack_ignore_ssl_errors: bool = False
    slack_proxy: ProxyUrl = None

    transport_prefix = "slack_"


def slack_escape(text: str) -> str:
    """Escape Slack's control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(
    alert: base.Alert, options: SlackOptions, rendered: base.Rendered
) -> dict[str, Any]:
    """The webhook body: a fallback text and header/section/context blocks."""
    subject = slack_escape(rendered.subject)
    body = slack_escape(rendered.body)
    link = options.slack_title_link or alert.search_url
    payload: dict[str, Any] = {
        "text": subject,
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": (options.slack_title or rendered.subject)[:150],
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "```" + body[:2900] + "```"}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"<{link}|Open in Dashboards> · "
                        f"{alert.severity} · {alert.count} event(s)",
                    }
                ],
            },
        ],
    }
    if options.slack_username_override:
        payload["username"] = options.slack_username_override
    if options.slack_channel_override:
        payload["channel"] = options.slack_channel_override
    if options.slack_emoji_override:
        payload["icon_emoji"] = options.slack_emoji_override
    return payload


class SlackDestination(base.Destination[SlackOptions]):
    """POST to every ``slack_webhook_url``."""

    async def send(self, alert: base.Alert, options: SlackOptions, rendered: base.Rendered) -> None:
        """Post the Slack message to each webhook URL."""
        await base.post_to_each(
            self.session,
            options.slack_webhook_url,
            slack_payload(alert, options, rendered),
            transport=options.transport(),
        )


KIND = base.DestinationKind("slack", SlackOptions, SlackDestination)
