"""ElastAlert2's ``post`` alerter: the matching event's fields as JSON to ``http_post_url``.

As ElastAlert2: by default (``http_post_all_values`` unless ``http_post_payload`` is set)
the payload is the match — the event's fields plus the rule type's extras such as
``spike_count`` or ``new_value``; ``http_post_static_payload`` adds fixed keys;
``http_post_payload`` maps payload keys to event fields; ``http_post_headers`` adds headers.
"""

from __future__ import annotations

from typing import Any

from bitacora.fields import lookup
from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.transport import CaCerts, ProxyUrl, Timeout
from bitacora.rules.option_types import StrList


class WebhookOptions(base.DestinationOptions):
    """``post``: ElastAlert2's HTTP POST alerter options."""

    required = ("http_post_url",)

    http_post_url: StrList | None = None
    http_post_payload: dict[str, str] | None = None
    http_post_static_payload: dict[str, Any] | None = None
    http_post_headers: dict[str, str] | None = None
    http_post_all_values: bool = False
    http_post_timeout: Timeout = 10.0
    http_post_ca_certs: CaCerts = None
    http_post_ignore_ssl_errors: bool = False
    http_post_proxy: ProxyUrl = None

    transport_prefix = "http_post_"


def webhook_payload(alert: base.Alert, options: WebhookOptions) -> dict[str, Any]:
    """The JSON body ElastAlert2 would post for this match."""
    match = base.match_of(alert)
    post_all = options.http_post_all_values or not options.http_post_payload
    payload: dict[str, Any] = dict(match) if post_all else {}
    payload.update(options.http_post_static_payload or {})
    for post_key, field in (options.http_post_payload or {}).items():
        payload[post_key] = lookup(match, field)
    return payload


class WebhookDestination(base.Destination[WebhookOptions]):
    """POST to every ``http_post_url``."""

    async def send(
        self, alert: base.Alert, options: WebhookOptions, rendered: base.Rendered
    ) -> None:
        """Post the payload to each URL of the rule."""
        payload = webhook_payload(alert, options)
        transport = options.transport()
        for url in options.http_post_url or []:
            await base.post_json(self.session, url, payload, options.http_post_headers, transport)


KIND = base.DestinationKind("post", WebhookOptions, WebhookDestination)
