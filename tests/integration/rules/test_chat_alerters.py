"""ElastAlert2's chat alerters against a real local receiver: the exact request each
service documents (method, path, headers, JSON body)."""

from __future__ import annotations

import aiohttp

from bitacora.rules.notify.notifier import Notifier
from bitacora.rules.notify.templates import render
from bitacora.settings import Settings
from tests.integration.rules.receivers import HttpReceiver, Received, http_receiver
from tests.integration.rules.test_destinations import FAST, alert_for, rule

SUBJECT = "Bitácora: error-burst (user-service)"


def json_post(request: Received, path: str) -> None:
    """A JSON POST to ``path``."""
    assert (request.method, request.path, request.query) == ("POST", path, "")
    assert request.headers["Content-Type"] == "application/json"


async def deliver(session: aiohttp.ClientSession, receiver: HttpReceiver, **options: object):  # type: ignore[no-untyped-def]
    r = rule(**options)
    alert = alert_for(r)
    report = await Notifier(Settings(), session, FAST).deliver(alert, r)
    assert (report.sent, report.failed) == ([r.alert[0]], {})
    return alert, render(alert, r)


async def test_ms_teams_message_card(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        alert, rendered = await deliver(
            session,
            receiver,
            alert="ms_teams",
            ms_teams_webhook_url=f"{receiver.url}/webhookb2/abc",
            ms_teams_theme_color="#ff0000",
            ms_teams_alert_facts=[{"name": "Service", "value": "service.name"}],
            ms_teams_attach_opensearch_discover_url=True,
        )
        [request] = receiver.requests
        json_post(request, "/webhookb2/abc")
        assert rendered.subject == SUBJECT
        assert request.body == {
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "summary": SUBJECT,
            "title": SUBJECT,
            "sections": [
                {"text": rendered.body, "facts": [{"name": "Service", "value": "user-service"}]}
            ],
            "themeColor": "#ff0000",
            "potentialAction": [
                {
                    "@type": "OpenUri",
                    "name": "Discover in opensearch",
                    "targets": [{"os": "default", "uri": alert.search_url}],
                }
            ],
        }


async def test_ms_power_automate_adaptive_card(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        _, rendered = await deliver(
            session,
            receiver,
            alert="ms_power_automate",
            ms_power_automate_webhook_url=f"{receiver.url}/workflows/1/triggers/manual",
            ms_power_automate_teams_card_width_full=True,
        )
        [request] = receiver.requests
        json_post(request, "/workflows/1/triggers/manual")
        assert request.body == {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {
                                "type": "TextBlock",
                                "text": SUBJECT,
                                "weight": "Bolder",
                                "wrap": True,
                                "size": "large",
                            },
                            {
                                "type": "TextBlock",
                                "text": rendered.body,
                                "spacing": "Large",
                                "wrap": True,
                            },
                        ],
                        "actions": [],
                        "msteams": {"width": "Full"},
                    },
                }
            ],
        }


async def test_telegram_send_message(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        _, rendered = await deliver(
            session,
            receiver,
            alert="telegram",
            telegram_bot_token="123:secret",
            telegram_room_id="-100200",
            telegram_api_url=receiver.url,
        )
        [request] = receiver.requests
        json_post(request, "/bot123:secret/sendMessage")
        assert request.body == {
            "chat_id": "-100200",
            "text": f"⚠ *{SUBJECT}* ⚠ ```\n{rendered.body} ```",
            "parse_mode": "markdown",
            "disable_web_page_preview": True,
            "message_thread_id": None,
        }


async def test_discord_webhook(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        _, rendered = await deliver(
            session,
            receiver,
            alert="discord",
            discord_webhook_url=f"{receiver.url}/api/webhooks/1/tok",
            discord_embed_footer="bitacora",
            discord_embed_color=0xFF0000,
        )
        [request] = receiver.requests
        json_post(request, "/api/webhooks/1/tok")
        assert request.body == {
            "content": f":warning: {SUBJECT} :warning:",
            "embeds": [
                {
                    "description": rendered.body,
                    "color": 0xFF0000,
                    "footer": {"text": "bitacora", "icon_url": None},
                }
            ],
        }


async def test_mattermost_once_per_channel(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        _, rendered = await deliver(
            session,
            receiver,
            alert="mattermost",
            mattermost_webhook_url=f"{receiver.url}/hooks/xyz",
            mattermost_channel_override=["ops", "payments"],
            mattermost_msg_pretext="pre",
            mattermost_msg_fields=[
                {"title": "Service", "value": "{0} on {1}", "args": ["service.name", "nope"]}
            ],
        )
        first, second = receiver.requests
        json_post(first, "/hooks/xyz")
        expected = {
            "username": "elastalert",
            "attachments": [
                {
                    "fallback": f"{SUBJECT}: pre",
                    "color": "danger",
                    "title": SUBJECT,
                    "pretext": "pre",
                    "fields": [{"title": "Service", "value": "user-service on <MISSING VALUE>"}],
                }
            ],
            "text": rendered.body,
            "icon_emoji": ":ghost:",
        }
        assert first.body == {**expected, "channel": "ops"}
        assert second.body == {**expected, "channel": "payments"}


async def test_googlechat_card(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        _, rendered = await deliver(
            session,
            receiver,
            alert="googlechat",
            googlechat_webhook_url=f"{receiver.url}/v1/spaces/AAA/messages",
            googlechat_format="card",
            googlechat_header_title="Bitácora",
        )
        [request] = receiver.requests
        json_post(request, "/v1/spaces/AAA/messages")
        assert request.body == {
            "cards": [
                {
                    "sections": [{"widgets": [{"textParagraph": {"text": rendered.body}}]}],
                    "header": {"title": "Bitácora", "subtitle": None, "imageUrl": None},
                }
            ]
        }


async def test_googlechat_basic(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        _, rendered = await deliver(
            session, receiver, alert="googlechat", googlechat_webhook_url=receiver.url + "/g"
        )
        [request] = receiver.requests
        json_post(request, "/g")
        assert request.body == {"text": rendered.body}


async def test_rocketchat_fields_and_channel(session: aiohttp.ClientSession) -> None:
    async with http_receiver() as receiver:
        _, rendered = await deliver(
            session,
            receiver,
            alert="rocketchat",
            rocket_chat_webhook_url=f"{receiver.url}/hooks/abc/def",
            rocket_chat_channel_override="#ops",
            rocket_chat_alert_fields=[{"title": "Service", "value": "service.name", "short": True}],
        )
        [request] = receiver.requests
        json_post(request, "/hooks/abc/def")
        assert request.body == {
            "username": "elastalert2",
            "text": "",
            "attachments": [
                {
                    "color": "danger",
                    "title": SUBJECT,
                    "text": rendered.body,
                    "fields": [{"title": "Service", "value": "user-service", "short": True}],
                }
            ],
            "emoji": ":ghost:",
            "channel": "#ops",
        }
