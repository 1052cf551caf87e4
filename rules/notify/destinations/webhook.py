"""ElastAlert2's ``post`` alerter: the matching event's fields as JSON to ``http_post_url``.

As ElastAlert2: by default (``http_post_all_values`` unless ``http_post_payload`` is set)
the payload is the match — the event's fields plus the rule type's extras such as
``spike_count`` or ``new_value``; ``http_post_static_payload`` adds fixed keys;
``http_post_payload`` maps payload keys to event fields; ``http_post_headers`` adds headers.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp

from bitacora.fields import lookup
from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.base import Destination, post_json
from bitacora.rules.notify.templates import Rendered


def webhook_payload(alert: Alert, rule: Rule) -> dict[str, Any]:
    """The JSON body ElastAlert2 would post for this match."""
    match: dict[str, Any] = dict(alert.event)
    match.update(alert.extra)
    post_all = rule.http_post_all_values or not rule.http_post_payload
    payload: dict[str, Any] = dict(match) if post_all else {}
    payload.update(rule.http_post_static_payload or {})
    for post_key, field in (rule.http_post_payload or {}).items():
        payload[post_key] = lookup(match, field)
    return payload


class WebhookDestination(Destination):
    """POST to every ``http_post_url``."""

    name: ClassVar[str] = "post"

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def send(self, alert: Alert, rule: Rule, rendered: Rendered) -> None:
        """Post the payload to each URL of the rule."""
        payload = webhook_payload(alert, rule)
        for url in rule.http_post_url or []:
            await post_json(
                self.session, url, payload, rule.http_post_headers, rule.http_post_timeout
            )
