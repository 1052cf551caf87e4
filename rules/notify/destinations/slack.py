"""Slack incoming webhook: ``{"text": fallback, "blocks": [...]}``.

Slack reads ``&``, ``<`` and ``>`` as markup, so they are escaped as Slack documents
(``&amp;``, ``&lt;``, ``&gt;``): log text shows literally and cannot form links or mentions.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp

from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.base import Destination, post_json
from bitacora.rules.notify.templates import Rendered


def slack_escape(text: str) -> str:
    """Escape Slack's control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert, rule: Rule, rendered: Rendered) -> dict[str, Any]:
    """The webhook body: a fallback text and header/section/context blocks."""
    subject = slack_escape(rendered.subject)
    body = slack_escape(rendered.body)
    link = rule.slack_title_link or alert.search_url
    payload: dict[str, Any] = {
        "text": subject,
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": (rule.slack_title or rendered.subject)[:150],
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
    if rule.slack_username_override:
        payload["username"] = rule.slack_username_override
    if rule.slack_channel_override:
        payload["channel"] = rule.slack_channel_override
    if rule.slack_emoji_override:
        payload["icon_emoji"] = rule.slack_emoji_override
    return payload


class SlackDestination(Destination):
    """POST to every ``slack_webhook_url``."""

    name: ClassVar[str] = "slack"

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def send(self, alert: Alert, rule: Rule, rendered: Rendered) -> None:
        """Post the Slack message to each webhook URL."""
        payload = slack_payload(alert, rule, rendered)
        for url in rule.slack_webhook_url or []:
            await post_json(self.session, url, payload)
