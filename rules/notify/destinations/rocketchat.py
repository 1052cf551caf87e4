"""Rocket.Chat incoming webhook (ElastAlert2's ``rocketchat`` alerter).

``POST <rocket_chat_webhook_url>`` with ``{"username", "text", "attachments": [{"color",
"title", "text": body, "fields"}], "emoji"?, "channel"?}``, once per webhook URL and
channel override. A ``rocket_chat_alert_fields`` entry ``{title, value, short}`` names a
match field in ``value``.
"""

from __future__ import annotations

from typing import Any

from bitacora.fields import lookup
from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import CaCerts, ProxyUrl, Timeout
from bitacora.rules.option_types import StrList


class RocketChatOptions(base.DestinationOptions):
    """``rocketchat``: ElastAlert2's Rocket.Chat options."""

    required = ("rocket_chat_webhook_url",)

    rocket_chat_webhook_url: StrList | None = None
    rocket_chat_username_override: str = "elastalert2"
    rocket_chat_channel_override: StrList | None = None
    rocket_chat_emoji_override: str = ":ghost:"
    rocket_chat_msg_color: str = "danger"
    rocket_chat_text_string: str = ""
    rocket_chat_alert_fields: list[dict[str, Any]] | None = None
    rocket_chat_timeout: Timeout = 10.0
    rocket_chat_ca_certs: CaCerts = None
    rocket_chat_ignore_ssl_errors: bool = False
    rocket_chat_proxy: ProxyUrl = None

    transport_prefix = "rocket_chat_"


def rocketchat_post(
    alert: base.Alert, options: RocketChatOptions, rendered: base.Rendered
) -> dict[str, Any]:
    """The webhook body (without the channel)."""
    fields = []
    if options.rocket_chat_alert_fields:
        match = base.match_of(alert)
        fields = [
            {**spec, "value": lookup(match, str(spec.get("value", "")))}
            for spec in options.rocket_chat_alert_fields
        ]
    attachment = {
        "color": options.rocket_chat_msg_color,
        "title": rendered.subject,
        "text": rendered.body,
        "fields": fields,
    }
    payload: dict[str, Any] = {
        "username": options.rocket_chat_username_override,
        "text": options.rocket_chat_text_string,
        "attachments": [attachment],
    }
    if options.rocket_chat_emoji_override:
        payload["emoji"] = options.rocket_chat_emoji_override
    return payload


class RocketChatDestination(base.Destination[RocketChatOptions]):
    """Post to every webhook URL, once per channel override."""

    async def send(
        self, alert: base.Alert, options: RocketChatOptions, rendered: base.Rendered
    ) -> None:
        """Post to each URL and channel."""
        await base.post_to_each(
            self.session,
            options.rocket_chat_webhook_url,
            rocketchat_post(alert, options, rendered),
            options.rocket_chat_channel_override,
            options.transport(),
        )


KIND = base.DestinationKind("rocketchat", RocketChatOptions, RocketChatDestination)
