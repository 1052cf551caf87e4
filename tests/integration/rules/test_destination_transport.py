"""ElastAlert2's transport options of every HTTP destination, against real local servers.

An HTTPS receiver on 127.0.0.1 whose certificate is signed by a CA made here; an HTTP proxy
that tunnels ``CONNECT`` and records each request; a receiver that never answers. The
``session`` fixture trusts only the system's CAs (what the alerting role uses); ``trusting``
also trusts the test CA, standing for a deployment whose system store holds it (how a
destination without a ``*_ca_certs`` option reaches an HTTPS server through the proxy).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from bitacora.rules.model import Rule
from bitacora.rules.notify.notifier import Notifier
from bitacora.rules.notify.retry import RetryPolicy
from bitacora.settings import Settings
from tests.helpers.tls_proxy import Pki
from tests.integration.rules.receivers import HttpReceiver, http_proxy, http_receiver
from tests.integration.rules.test_destinations import alert_for, rule

ONCE = RetryPolicy(attempts=1)
CERTIFICATE_FAILURE = "unreachable: ClientConnectorCertificateError"

# alerter → (its rule options for a receiver URL, ElastAlert2's option prefix)
TARGETS: dict[str, tuple[Callable[[str], dict[str, Any]], str]] = {
    "post": (lambda url: {"http_post_url": f"{url}/hook"}, "http_post"),
    "slack": (lambda url: {"slack_webhook_url": f"{url}/services/T/B/x"}, "slack"),
    "pagerduty": (
        lambda url: {"pagerduty_service_key": "k", "pagerduty_events_url": f"{url}/v2/enqueue"},
        "pagerduty",
    ),
    "alertmanager": (lambda url: {"alertmanager_hosts": [url]}, "alertmanager"),
    "ms_teams": (lambda url: {"ms_teams_webhook_url": f"{url}/teams"}, "ms_teams"),
    "rocketchat": (lambda url: {"rocket_chat_webhook_url": f"{url}/hooks/x"}, "rocket_chat"),
    "mattermost": (lambda url: {"mattermost_webhook_url": f"{url}/hooks/x"}, "mattermost"),
    "opsgenie": (
        lambda url: {"opsgenie_key": "k", "opsgenie_addr": f"{url}/v2/alerts"},
        "opsgenie",
    ),
    "telegram": (
        lambda url: {"telegram_bot_token": "t", "telegram_room_id": "1", "telegram_api_url": url},
        "telegram",
    ),
    "discord": (lambda url: {"discord_webhook_url": f"{url}/api/webhooks/x"}, "discord"),
    "googlechat": (lambda url: {"googlechat_webhook_url": f"{url}/v1/spaces/x"}, "googlechat"),
    "victorops": (
        lambda url: {
            "victorops_api_key": "a",
            "victorops_routing_key": "r",
            "victorops_message_type": "CRITICAL",
            "victorops_url": url,
        },
        "victorops",
    ),
}
WITH_CA = ["post", "slack", "pagerduty", "alertmanager", "ms_teams", "rocketchat"]
WITH_IGNORE = [*WITH_CA, "mattermost"]
WITH_TIMEOUT = ["post", "slack", "alertmanager", "rocketchat"]


def target_rule(
    alerter: str, url: str, raw: dict[str, Any] | None = None, **transport: Any
) -> Rule:
    """A rule sending to ``url`` through ``alerter``; ``transport`` keys lack the option
    prefix, ``raw`` keys are options as written."""
    options, prefix = TARGETS[alerter]
    extra = {f"{prefix}_{name}": value for name, value in transport.items()}
    return rule(alert=[alerter], **options(url), **extra, **(raw or {}))


def server_context(pki: Pki) -> ssl.SSLContext:
    """The HTTPS receiver's context: the server certificate ``pki.ca`` signed."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server.cert, pki.server.key)
    return context


@pytest.fixture
async def trusting(pki: Pki) -> AsyncIterator[aiohttp.ClientSession]:
    context = ssl.create_default_context(cafile=str(pki.ca.cert))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as client:
        yield client


@pytest.fixture
async def https(pki: Pki) -> AsyncIterator[HttpReceiver]:
    async with http_receiver(server_context(pki)) as receiver:
        yield receiver


@pytest.mark.parametrize("alerter", WITH_CA)
async def test_ca_certs_verifies_against_the_given_ca(
    alerter: str, pki: Pki, https: HttpReceiver, session: aiohttp.ClientSession
) -> None:
    notifier = Notifier(Settings(), session, ONCE)
    plain = target_rule(alerter, https.url)
    refused = await notifier.deliver(alert_for(plain), plain)
    assert refused.sent == []
    assert refused.failed == {alerter: f"{https.url}/… {CERTIFICATE_FAILURE}"}
    assert refused.retry == [alerter]
    assert https.requests == []

    with_ca = target_rule(alerter, https.url, ca_certs=str(pki.ca.cert))
    report = await notifier.deliver(alert_for(with_ca), with_ca)
    assert (report.sent, report.failed) == ([alerter], {})
    assert len(https.requests) == 1


@pytest.mark.parametrize("alerter", WITH_IGNORE)
async def test_ignore_ssl_errors_accepts_an_unknown_ca(
    alerter: str, https: HttpReceiver, session: aiohttp.ClientSession
) -> None:
    r = target_rule(alerter, https.url, ignore_ssl_errors=True)
    report = await Notifier(Settings(), session, ONCE).deliver(alert_for(r), r)
    assert (report.sent, report.failed) == ([alerter], {})
    assert len(https.requests) == 1


@pytest.mark.parametrize("ca_certs", ["other", True])
async def test_ca_certs_wins_over_ignore_ssl_errors(
    ca_certs: str | bool, pki: Pki, https: HttpReceiver, session: aiohttp.ClientSession
) -> None:
    # ElastAlert2 passes verify=ca_certs whenever ca_certs is set: a path (here a CA that
    # did not sign the server) or true (the system's CAs) still verifies.
    given = str(pki.other_ca.cert) if ca_certs == "other" else ca_certs
    r = target_rule("alertmanager", https.url, ca_certs=given, ignore_ssl_errors=True)
    report = await Notifier(Settings(), session, ONCE).deliver(alert_for(r), r)
    assert report.failed == {"alertmanager": f"{https.url}/… {CERTIFICATE_FAILURE}"}
    assert https.requests == []


@pytest.mark.parametrize("alerter", list(TARGETS))
async def test_proxy_tunnels_https(
    alerter: str, https: HttpReceiver, trusting: aiohttp.ClientSession
) -> None:
    async with http_proxy() as proxy:
        r = target_rule(alerter, https.url, proxy=proxy.url)
        report = await Notifier(Settings(), trusting, ONCE).deliver(alert_for(r), r)
        assert (report.sent, report.failed) == ([alerter], {})
        host = https.url.removeprefix("https://")
        assert [(p.method, p.target) for p in proxy.requests] == [("CONNECT", host)]
        assert len(https.requests) == 1


async def test_proxy_is_not_used_for_plain_http(session: aiohttp.ClientSession) -> None:
    # ElastAlert2 hands requests the proxy for the https scheme only.
    async with http_proxy() as proxy, http_receiver() as receiver:
        r = target_rule("alertmanager", receiver.url, proxy=proxy.url)
        report = await Notifier(Settings(), session, ONCE).deliver(alert_for(r), r)
        assert (report.sent, report.failed) == (["alertmanager"], {})
        assert proxy.requests == []
        assert [request.path for request in receiver.requests] == ["/api/v2/alerts"]


async def test_proxy_with_ca_certs_verifies_through_the_tunnel(
    pki: Pki, https: HttpReceiver, session: aiohttp.ClientSession
) -> None:
    async with http_proxy() as proxy:
        r = target_rule("slack", https.url, proxy=proxy.url, ca_certs=str(pki.ca.cert))
        report = await Notifier(Settings(), session, ONCE).deliver(alert_for(r), r)
        assert (report.sent, report.failed) == (["slack"], {})
        assert [p.method for p in proxy.requests] == ["CONNECT"]


BASIC = "Basic dXNlcjpwNHNz"  # base64 of "user:p4ss"


@pytest.mark.parametrize(
    ("alerter", "login", "password"),
    [
        ("telegram", "telegram_proxy_login", "telegram_proxy_pass"),
        ("discord", "discord_proxy_login", "discord_proxy_password"),
    ],
)
async def test_proxy_login_authenticates_to_the_proxy(
    alerter: str,
    login: str,
    password: str,
    https: HttpReceiver,
    trusting: aiohttp.ClientSession,
) -> None:
    notifier = Notifier(Settings(), trusting, ONCE)
    async with http_proxy(required=BASIC) as proxy:
        anonymous = target_rule(alerter, https.url, proxy=proxy.url)
        refused = await notifier.deliver(alert_for(anonymous), anonymous)
        assert refused.sent == []
        assert refused.failed[alerter].endswith("unreachable: ClientHttpProxyError")
        signed = target_rule(alerter, https.url, {login: "user", password: "p4ss"}, proxy=proxy.url)
        report = await notifier.deliver(alert_for(signed), signed)
        assert (report.sent, report.failed) == ([alerter], {})
        assert [p.authorization for p in proxy.requests] == [None, BASIC]
        assert len(https.requests) == 1
        assert "Proxy-Authorization" not in https.requests[0].headers


async def test_proxy_credentials_in_the_url_authenticate(
    https: HttpReceiver, trusting: aiohttp.ClientSession
) -> None:
    async with http_proxy(required=BASIC) as proxy:
        url = proxy.url.replace("http://", "http://user:p4ss@")
        r = target_rule("alertmanager", https.url, proxy=url)
        report = await Notifier(Settings(), trusting, ONCE).deliver(alert_for(r), r)
        assert (report.sent, report.failed) == (["alertmanager"], {})
        assert [p.authorization for p in proxy.requests] == [BASIC]


@pytest.mark.parametrize("alerter", WITH_TIMEOUT)
async def test_timeout_ends_an_attempt_to_a_server_that_never_answers(
    alerter: str, session: aiohttp.ClientSession
) -> None:
    async with http_receiver() as hung:
        hung.hold = lambda body: True
        r = target_rule(alerter, hung.url, timeout=1)
        # The guard lies below the 10 s default: only the option can end the attempt in time.
        report = await asyncio.wait_for(
            Notifier(Settings(), session, ONCE).deliver(alert_for(r), r), timeout=8
        )
        assert report.sent == []
        assert report.failed == {alerter: f"{hung.url}/… unreachable: TimeoutError"}
        assert report.retry == [alerter]
        assert len(hung.requests) == 1
        await until(lambda: hung.held_open() == 0)  # the client gave up and hung up


async def until(condition: Callable[[], bool], deadline_s: float = 5.0) -> None:
    """Poll ``condition`` until it holds (fails after the deadline)."""
    end = asyncio.get_running_loop().time() + deadline_s
    while not condition():
        assert asyncio.get_running_loop().time() < end, "condition never held"
        await asyncio.sleep(0.02)
