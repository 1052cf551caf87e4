"""SMTP email with a plain and an HTML part; STARTTLS or SSL and auth from ``Settings``.

``smtplib`` runs in a worker thread so the event loop never blocks on the mail server.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from typing import ClassVar

from bitacora.rules.alerts import Alert
from bitacora.rules.model import Rule
from bitacora.rules.notify.destinations.base import Destination
from bitacora.rules.notify.retry import DestinationError
from bitacora.rules.notify.templates import Rendered
from bitacora.settings import Settings


def email_message(
    alert: Alert, rule: Rule, rendered: Rendered, sender: str
) -> tuple[EmailMessage, list[str]]:
    """The message and its envelope recipients (To, Cc and Bcc)."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = rule.from_addr or sender
    message["To"] = ", ".join(rule.email or [])
    if rule.cc:
        message["Cc"] = ", ".join(rule.cc)
    if rule.email_reply_to:
        message["Reply-To"] = rule.email_reply_to
    message["X-Bitacora-Alert"] = alert.id
    message.set_content(rendered.body)
    message.add_alternative(rendered.html, subtype="html")
    return message, [*(rule.email or []), *(rule.cc or []), *(rule.bcc or [])]


class EmailDestination(Destination):
    """Send through the SMTP server named in ``Settings``."""

    name: ClassVar[str] = "email"

    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def _send_sync(self, message: EmailMessage, recipients: list[str]) -> None:
        settings = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if settings.smtp_ssl:
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=self.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=self.timeout)
        with smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls(context=context)
            if settings.smtp_user:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message, to_addrs=recipients)

    async def send(self, alert: Alert, rule: Rule, rendered: Rendered) -> None:
        """Send the mail; SMTP 5xx answers are permanent, the rest is retried."""
        message, recipients = email_message(alert, rule, rendered, self.settings.smtp_from)
        try:
            await asyncio.to_thread(self._send_sync, message, recipients)
        except smtplib.SMTPResponseException as exc:
            raise DestinationError(
                f"SMTP {self.settings.smtp_host} answered {exc.smtp_code}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DestinationError("SMTP refused every recipient", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DestinationError(
                f"SMTP {self.settings.smtp_host} unreachable: {type(exc).__name__}"
            ) from exc
