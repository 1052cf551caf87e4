"""Discord webhook (ElastAlert2's ``discord`` alerter).

``POST <discord_webhook_url>`` with ``{"content": "<emoji> <subject> <emoji>", "embeds":
[{"description": body, "color": …, "footer"?: {"text", "icon_url"}}]}``; the description
is cut to Discord's 2,048 characters.
"""

from __future__ import annotations

from typing import Any

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import ProxyUrl

CROPPED = "message was cropped according to discord embed description limits!"


class DiscordOptions(base.DestinationOptions):
    """``discord``: ElastAlert2's Discord options."""

    required = ("discord_webhook_url",)

    discord_webhook_url: str | None = None
    discord_emoji_title: str = ":warning:"
    discord_embed_color: int = 0xFFFFFF
    discord_embed_footer: str | None = None
    discord_embed_icon_url: str | None = None
    discord_proxy: ProxyUrl = None
    # Basic authentication to the proxy (the password: ``${NAME}``, docs/operations.md).
    discord_proxy_login: str | None = None
    discord_proxy_password: str | None = None

    transport_prefix = "discord_"


def discord_message(options: DiscordOptions, rendered: base.Rendered) -> dict[str, Any]:
    """The webhook body."""
    body = rendered.body
    if len(body) > 2047:
        body = (
            body[:1950] + "\n *message was cropped according to discord embed description limits!*"
        )
    emoji = options.discord_emoji_title
    embed: dict[str, Any] = {"description": body, "color": options.discord_embed_color}
    if options.discord_embed_footer:
        embed["footer"] = {
            "text": options.discord_embed_footer,
            "icon_url": options.discord_embed_icon_url,
        }
    return {"content": f"{emoji} {rendered.subject} {emoji}", "embeds": [embed]}


class DiscordDestination(base.Destination[DiscordOptions]):
    """Post one message to the webhook."""

    async def send(
        self, alert: base.Alert, options: DiscordOptions, rendered: base.Rendered
    ) -> None:
        """Post the message."""
        url = str(options.discord_webhook_url)
        message = discord_message(options, rendered)
        await base.post_json(self.session, url, message, transport=options.transport())


KIND = base.DestinationKind("discord", DiscordOptions, DiscordDestination)
