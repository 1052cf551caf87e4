"""Google Chat incoming webhook (ElastAlert2's ``googlechat`` alerter).

``googlechat_format: basic`` posts ``{"text": body}``; ``card`` posts a card message
``{"cards": [{"header"?, "sections": [{"widgets": [{"textParagraph": {"text": body}}]},
footer?]}]}`` with the header and the footer button ElastAlert2 builds.
"""

from __future__ import annotations

from typing import Any, Literal

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import ProxyUrl
from bitacora.rules.option_types import StrList


class GoogleChatOptions(base.DestinationOptions):
    """``googlechat``: ElastAlert2's Google Chat options."""

    required = ("googlechat_webhook_url",)

    googlechat_webhook_url: StrList | None = None
    googlechat_format: Literal["basic", "card"] = "basic"
    googlechat_header_title: str | None = None
    googlechat_header_subtitle: str | None = None
    googlechat_header_image: str | None = None
    googlechat_footer_kibanalink: str | None = None
    googlechat_proxy: ProxyUrl = None

    transport_prefix = "googlechat_"


def googlechat_message(options: GoogleChatOptions, rendered: base.Rendered) -> dict[str, Any]:
    """The webhook body in the rule's format."""
    if options.googlechat_format == "basic":
        return {"text": rendered.body}
    card: dict[str, Any] = {"sections": [{"widgets": [{"textParagraph": {"text": rendered.body}}]}]}
    if options.googlechat_header_title:
        card["header"] = {
            "title": options.googlechat_header_title,
            "subtitle": options.googlechat_header_subtitle,
            "imageUrl": options.googlechat_header_image,
        }
    if options.googlechat_footer_kibanalink:
        link = {"openLink": {"url": options.googlechat_footer_kibanalink}}
        button = {"textButton": {"text": "VISIT KIBANA", "onClick": link}}
        card["sections"].append({"widgets": [{"buttons": [button]}]})
    return {"cards": [card]}


class GoogleChatDestination(base.Destination[GoogleChatOptions]):
    """Post the message to every webhook URL."""

    async def send(
        self, alert: base.Alert, options: GoogleChatOptions, rendered: base.Rendered
    ) -> None:
        """Post to each URL."""
        await base.post_to_each(
            self.session,
            options.googlechat_webhook_url,
            googlechat_message(options, rendered),
            transport=options.transport(),
        )


KIND = base.DestinationKind("googlechat", GoogleChatOptions, GoogleChatDestination)
