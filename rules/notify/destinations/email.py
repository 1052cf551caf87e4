"""SMTP email with a plain and an HTML part.

The server is ``Settings``' (``BITACORA_SMTP_*``) unless the rule names its own with
ElastAlert2's options, read as ElastAlert2 2.19 reads them:

- ``smtp_host``: the rule's server; then ``smtp_port`` defaults to 465 with ``smtp_ssl``,
  else 25, STARTTLS is used when the server offers it, and only ``smtp_auth_file`` logs in
  (``BITACORA_SMTP_USER`` is never sent to a server a rule names);
- ``smtp_port``, ``smtp_ssl``: replace ``BITACORA_SMTP_PORT``/``BITACORA_SMTP_SSL``
  (``smtp_ssl`` alone also moves the port to its protocol's, 465 or 25);
- ``smtp_auth_file``: a YAML file with ``user`` and ``password`` (relative to the rule's
  folder), read at each send, replacing ``BITACORA_SMTP_USER``/``_PASSWORD``;
- ``smtp_cert_file`` (and ``smtp_key_file`` when the key is apart): a client certificate
  presented in the TLS handshake (SSL or STARTTLS).

The server's certificate is always verified against the system's CAs (ElastAlert2 checks
it only when ``smtp_cert_file`` is set). ``smtplib`` runs in a worker thread so the event
loop never blocks on the mail server.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.retry import DestinationError
from bitacora.rules.option_types import StrList
from bitacora.settings import Settings


def _check_account(value: str | None) -> str | None:
    if value is None:
        return None
    if not Path(value).is_file():
        raise ValueError(
            f"account file {value} not found: give a YAML file with user and password "
            "(a relative path starts at the rule's folder)"
        )
    try:
        base.read_account_file(value, "smtp")
    except DestinationError as exc:
        raise ValueError(f"{exc} ({value}): write `user: NAME` and `password: SECRET`") from None
    return value


def _check_pem(value: str | None) -> str | None:
    if value is not None and not Path(value).is_file():
        raise ValueError(f"file {value} not found: give the path of a PEM file")
    return value


AccountFile = Annotated[str | None, AfterValidator(_check_account)]
PemFile = Annotated[str | None, AfterValidator(_check_pem)]


class EmailOptions(base.DestinationOptions):
    """``email``: ElastAlert2's email alerter options (the SMTP server: ``Settings``' unless
    the rule names its own)."""

    required = ("email",)

    email: StrList | None = None
    cc: StrList | None = None
    bcc: StrList | None = None
    email_reply_to: str | None = None
    from_addr: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_ssl: bool | None = None
    smtp_auth_file: AccountFile = None
    smtp_cert_file: PemFile = None
    smtp_key_file: PemFile = None

    rule_relative = ("smtp_auth_file",)

    @model_validator(mode="after")
    def _client_certificate(self) -> EmailOptions:
        if self.smtp_key_file and not self.smtp_cert_file:
            raise ValueError("smtp_key_file needs smtp_cert_file (the certificate it signs for)")
        if self.smtp_cert_file:
            try:
                tls_context(self.smtp_cert_file, self.smtp_key_file)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(
                    f"smtp_cert_file {self.smtp_cert_file} cannot be loaded with its key "
                    f"({type(exc).__name__}): give a PEM certificate and its key in "
                    "smtp_key_file, or one PEM file holding both"
                ) from None
        return self


@dataclass(frozen=True)
class SmtpServer:
    """Where and how one rule's mail is sent."""

    host: str
    port: int
    ssl: bool
    starttls: Literal["always", "offered", "never"]
    login: Literal["settings", "file", "none"]
    cert_file: str | None = None
    key_file: str | None = None


def smtp_server(settings: Settings, options: EmailOptions) -> SmtpServer:
    """The rule's SMTP server: ``Settings``' with the rule's ElastAlert2 options applied."""
    own = options.smtp_host is not None
    use_ssl = options.smtp_ssl if options.smtp_ssl is not None else (not own and settings.smtp_ssl)
    if options.smtp_port is not None:
        port = options.smtp_port
    elif own or use_ssl != settings.smtp_ssl:
        port = 465 if use_ssl else 25
    else:
        port = settings.smtp_port
    if use_ssl:
        starttls: Literal["always", "offered", "never"] = "never"
    elif own:
        starttls = "offered"
    else:
        starttls = "always" if settings.smtp_starttls else "never"
    if options.smtp_auth_file:
        login: Literal["settings", "file", "none"] = "file"
    else:
        login = "none" if own or not settings.smtp_user else "settings"
    return SmtpServer(
        options.smtp_host or settings.smtp_host,
        port,
        use_ssl,
        starttls,
        login,
        options.smtp_cert_file,
        options.smtp_key_file,
    )


def tls_context(cert_file: str | None = None, key_file: str | None = None) -> ssl.SSLContext:
    """The system's CAs, and the client certificate when one is given."""
    context = ssl.create_default_context()
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    return context


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

    def _credentials(self, server: SmtpServer, options: EmailOptions) -> tuple[str, str] | None:
        settings = self.settings
        if server.login == "file":
            return base.read_account_file(str(options.smtp_auth_file), "smtp")
        if server.login == "settings" and settings.smtp_user:
            secret = settings.smtp_password
            return settings.smtp_user, secret.get_secret_value() if secret else ""
        return None

    def _send_sync(
        self, server: SmtpServer, options: EmailOptions, message: EmailMessage, to: list[str]
    ) -> None:
        credentials = self._credentials(server, options)
        context = tls_context(server.cert_file, server.key_file)
        smtp: smtplib.SMTP
        if server.ssl:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            offered = server.starttls == "offered" and smtp.has_extn("starttls")
            if server.starttls == "always" or offered:
                smtp.starttls(context=context)
            if credentials:
                smtp.login(*credentials)
            smtp.send_message(message, to_addrs=to)

    async def send(self, alert: base.Alert, options: EmailOptions, rendered: base.Rendered) -> None:
        """Send the mail; SMTP 5xx answers are permanent, the rest is retried."""
        message, recipients = email_message(alert, options, rendered, self.settings.smtp_from)
        server = smtp_server(self.settings, options)
        try:
            await asyncio.to_thread(self._send_sync, server, options, message, recipients)
        except smtplib.SMTPResponseException as exc:
            raise DestinationError(
                f"SMTP {server.host} answered {exc.smtp_code}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DestinationError("SMTP refused every recipient", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DestinationError(f"SMTP {server.host} unreachable: {type(exc).__name__}") from exc


KIND = base.DestinationKind("email", EmailOptions, EmailDestination)
