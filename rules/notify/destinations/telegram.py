"""Telegram Bot API ``sendMessage`` (ElastAlert2's ``telegram`` alerter).

``POST https://<telegram_api_url>/bot<telegram_bot_token>/sendMessage`` with
``{"chat_id", "text", "parse_mode", "disable_web_page_preview": true,
"message_thread_id"}``. The text is the subject between warning signs and the body in a
code block (Markdown), cut to Telegram's 4,096 characters. ``telegram_api_url`` may carry
a scheme (``http://127.0.0.1:8081``) for a local Bot API server.
"""

from __future__ import annotations

from typing import Literal

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import ProxyUrl

LIMIT = 4095


class TelegramOptions(base.DestinationOptions):
    """``telegram``: ElastAlert2's Telegram options."""

    required = ("telegram_bot_token", "telegram_room_id")

    telegram_bot_token: str | None = None
    telegram_room_id: str | None = None
    telegram_api_url: str = "api.telegram.org"
    telegram_parse_mode: Literal["markdown", "markdownV2", "html"] = "markdown"
    telegram_thread_id: int | None = None
    telegram_proxy: ProxyUrl = None
    # Basic authentication to the proxy (the password: ``${NAME}``, docs/operations.md).
    telegram_proxy_login: str | None = None
    telegram_proxy_pass: str | None = None

    transport_prefix = "telegram_"


def telegram_url(options: TelegramOptions) -> str:
    """The ``sendMessage`` URL (it holds the bot token: never log it)."""
    base = options.telegram_api_url.rstrip("/")
    if "://" not in base:
        base = "https://" + base
    return f"{base}/bot{options.telegram_bot_token}/sendMessage"


def telegram_message(options: TelegramOptions, rendered: base.Rendered) -> dict[str, object]:
    """The ``sendMessage`` body."""
    html = options.telegram_parse_mode == "html"
    text = f"⚠ {rendered.subject} ⚠ \n" if html else f"⚠ *{rendered.subject}* ⚠ ```\n"
    text += rendered.body
    if len(text) > LIMIT:
        text = text[:4000] + "\n⚠ *message was cropped according to telegram limits!* ⚠"
    if not html:
        text += " ```"
    return {
        "chat_id": options.telegram_room_id,
        "text": text,
        "parse_mode": options.telegram_parse_mode,
        "disable_web_page_preview": True,
        "message_thread_id": options.telegram_thread_id,
    }


class TelegramDestination(base.Destination[TelegramOptions]):
    """Send one message to the rule's chat."""

    async def send(
        self, alert: base.Alert, options: TelegramOptions, rendered: base.Rendered
    ) -> None:
        """Post the message."""
        await base.post_json(
            self.session,
            telegram_url(options),
            telegram_message(options, rendered),
            transport=options.transport(),
        )


KIND = base.DestinationKind("telegram", TelegramOptions, TelegramDestination)
