"""SMTP email with a plain and an HTML part; STARTTLS or SSL and auth from ``Settings``.

``smtplib`` runs in a worker thread so the event loop never blocks on the mail server.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.retry import DestinationError
from bitacora.rules.option_types import StrList


class EmailOptions(base.DestinationOptions):
    """``email``: ElastAlert2's email alerter options (the SMTP server is in ``Settings``)."""

    required = ("email",)

    email: StrList | None = None
    cc: StrList | None = None
    bcc: StrList | None = None
    email_reply_to: str | None = None
    from_addr: str | None = None


def email_message(
    alert: base.Alert, options: EmailOptions, rendered: base.Rendered, sender: str
) -> tuple[EmailMessage, list[str]]:
    """The message and its envelope recipients (To, Cc and Bcc)."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = options.from_addr or sender
    message["To"] = ", ".join(options.email or [])
    if options.cc:
        message["Cc"] = ", ".join(options.cc)
    if options.email_reply_to:
        message["Reply-To"] = options.email_reply_to
    message["X-Bitacora-Alert"] = alert.id
    message.set_content(rendered.body)
    message.add_alternative(rendered.html, subtype="html")
    return message, [*(options.email or []), *(options.cc or []), *(options.bcc or [])]


class EmailDestination(base.Destination[EmailOptions]):
    """Send through the SMTP server named in ``Settings``."""

    timeout = 30.0

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

    async def send(self, alert: base.Alert, options: EmailOptions, rendered: base.Rendered) -> None:
        """Send the mail; SMTP 5xx answers are permanent, the rest is retried."""
        message, recipients = email_message(alert, options, rendered, self.settings.smtp_from)
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


KIND = base.DestinationKind("email", EmailOptions, EmailDestination)
