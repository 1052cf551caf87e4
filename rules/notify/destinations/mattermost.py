"""Mattermost incoming webhook (ElastAlert2's ``mattermost`` alerter).

``POST <mattermost_webhook_url>`` with ``{"username", "attachments": [{"fallback",
"color", "title", "pretext", "fields", …}], "text"|attachment "text", "icon_url" or
"icon_emoji", "channel"?}``, once per webhook URL and channel override. A
``mattermost_msg_fields`` entry ``{title, value, short, args?}`` fills ``value`` with
``args`` looked up in the match, as ElastAlert2 does.
"""

from __future__ import annotations

from typing import Any

from bitacora.fields import lookup
from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import ProxyUrl
from bitacora.rules.option_types import StrList


class MattermostOptions(base.DestinationOptions):
    """``mattermost``: ElastAlert2's Mattermost options."""

    required = ("mattermost_webhook_url",)

    mattermost_webhook_url: StrList | None = None
    mattermost_username_override: str = "elastalert"
    mattermost_channel_override: StrList | None = None
    mattermost_emoji_override: str = ":ghost:"
    mattermost_icon_url_override: str = ""
    mattermost_msg_pretext: str = ""
    mattermost_msg_color: str = "danger"
    mattermost_msg_fields: list[dict[str, Any]] | None = None
    mattermost_title: str = ""
    mattermost_title_link: str = ""
    mattermost_footer: str = ""
    mattermost_footer_icon: str = ""
    mattermost_image_url: str = ""
    mattermost_thumb_url: str = ""
    mattermost_author_name: str = ""
    mattermost_author_link: str = ""
    mattermost_author_icon: str = ""
    mattermost_ignore_ssl_errors: bool = False
    mattermost_proxy: ProxyUrl = None

    transport_prefix = "mattermost_"


def message_fields(alert: base.Alert, fields: list[dict[str, Any]]) -> list[Any]:
    """Attachment fields; ``args`` are looked up in the match and formatted into ``value``."""
    match = base.match_of(alert)
    out = []
    for spec in fields:
        field = dict(spec)
        if "args" in field:
            values = [lookup(match, arg) or base.MISSING for arg in field.pop("args")]
            if "value" in field:
                field["value"] = str(field["value"]).format(*values)
            else:
                field["value"] = "\n".join(str(value) for value in values)
        out.append(field)
    return out


_OPTIONAL = ("title", "title_link", "footer", "footer_icon", "image_url", "thumb_url")
_AUTHOR = ("author_name", "author_link", "author_icon")


def mattermost_post(
    alert: base.Alert, options: MattermostOptions, rendered: base.Rendered
) -> dict[str, Any]:
    """The webhook body (without the channel)."""
    pretext = options.mattermost_msg_pretext
    attachment: dict[str, Any] = {
        "fallback": f"{rendered.subject}: {pretext}",
        "color": options.mattermost_msg_color,
        "title": rendered.subject,
        "pretext": pretext,
        "fields": [],
    }
    payload: dict[str, Any] = {
        "username": options.mattermost_username_override,
        "attachments": [attachment],
        "text": rendered.body,
    }
    if options.mattermost_msg_fields:
        attachment["fields"] = message_fields(alert, options.mattermost_msg_fields)
    if options.mattermost_icon_url_override:
        payload["icon_url"] = options.mattermost_icon_url_override
    else:
        payload["icon_emoji"] = options.mattermost_emoji_override
    for name in (*_OPTIONAL, *_AUTHOR):
        value = getattr(options, f"mattermost_{name}")
        if value:
            attachment[name] = value
    return payload


class MattermostDestination(base.Destination[MattermostOptions]):
    """Post to every webhook URL, once per channel override."""

    async def send(
        self, alert: base.Alert, options: MattermostOptions, rendered: base.Rendered
    ) -> None:
        """Post to each URL and channel."""
        await base.post_to_each(
            self.session,
            options.mattermost_webhook_url,
            mattermost_post(alert, options, rendered),
            options.mattermost_channel_override,
            options.transport(),
        )


KIND = base.DestinationKind("mattermost", MattermostOptions, MattermostDestination)
