"""ElastAlert2's SMTP options of the email destination, against real aiosmtpd servers.

``SSL_CERT_FILE`` set to the test CA stands for a system store that holds it: the email
destination verifies the server against the system's CAs.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from bitacora.rules.loader import read_rule
from bitacora.rules.notify.notifier import Notifier
from bitacora.rules.notify.retry import RetryPolicy
from bitacora.settings import Settings
from tests.helpers.tls_proxy import Pki
from tests.integration.rules.receivers import MailSession, smtp_receiver
from tests.integration.rules.test_destinations import alert_for, rule

ONCE = RetryPolicy(attempts=1)


def server_context(pki: Pki) -> ssl.SSLContext:
    """The server certificate ``pki.ca`` signed; a client certificate of that CA is asked
    for and recorded, not required."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca.cert))
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_cert_chain(pki.server.cert, pki.server.key)
    return context


def only(login: str, password: str) -> Any:
    """An aiosmtpd authenticator taking one login."""

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            login.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, auth_data=data)

    return authenticate


async def test_smtp_host_sends_to_the_rules_own_server_without_the_settings_login(
    session: aiohttp.ClientSession,
) -> None:
    async with smtp_receiver() as (shared, shared_port), smtp_receiver() as (own, own_port):
        # The shared server's login would fail on ``own`` (it offers no AUTH).
        settings = Settings(
            smtp_host="127.0.0.1", smtp_port=shared_port, smtp_user="bitacora", smtp_password="x"
        )
        r = rule(
            alert="email", email="oncall@flores.test", smtp_host="127.0.0.1", smtp_port=own_port
        )
        report = await Notifier(settings, session, ONCE).deliver(alert_for(r), r)
        assert (report.sent, report.failed) == (["email"], {})
        assert [m[1] for m in own.messages] == [["oncall@flores.test"]]
        assert own.sessions == [MailSession(tls=False, client=None, login=None)]
        assert shared.messages == []


async def test_smtp_ssl_verifies_the_server_and_presents_the_client_certificate(
    pki: Pki, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with smtp_receiver(ssl_context=server_context(pki)) as (sink, port):
        r = rule(
            alert="email",
            email="oncall@flores.test",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_ssl=True,
            smtp_cert_file=str(pki.client.cert),
            smtp_key_file=str(pki.client.key),
        )
        notifier = Notifier(Settings(), session, ONCE)
        unknown_ca = await notifier.deliver(alert_for(r), r)
        assert unknown_ca.failed == {
            "email": "SMTP 127.0.0.1 unreachable: SSLCertVerificationError"
        }
        assert unknown_ca.retry == ["email"]
        monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca.cert))  # the system store holds the CA
        report = await notifier.deliver(alert_for(r), r)
        assert (report.sent, report.failed) == (["email"], {})
        assert sink.sessions == [MailSession(tls=True, client="client", login=None)]


async def test_starttls_when_offered_and_the_login_of_smtp_auth_file(
    pki: Pki, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca.cert))
    (tmp_path / "smtp-account.yaml").write_text("user: alerts\npassword: s3cret\n")
    options = {
        "tls_context": server_context(pki),
        "authenticator": only("alerts", "s3cret"),
        "auth_required": True,
    }
    async with smtp_receiver(**options) as (sink, port):
        path = tmp_path / "rule.yaml"
        path.write_text(
            "name: burst\ntype: any\nfilter: []\nalert: email\nemail: oncall@flores.test\n"
            f"smtp_host: 127.0.0.1\nsmtp_port: {port}\nsmtp_auth_file: smtp-account.yaml\n"
        )
        r = read_rule(path).rule  # the account file is relative to the rule's folder
        assert r.smtp_auth_file == str(tmp_path / "smtp-account.yaml")  # type: ignore[attr-defined]
        report = await Notifier(Settings(), session, ONCE).deliver(alert_for(r), r)
        assert (report.sent, report.failed) == (["email"], {})
        assert sink.sessions == [MailSession(tls=True, client=None, login="alerts")]
