"""What a destination is: its options, its sender and its registry entry.

A destination is one module under ``rules/notify/destinations/`` that declares

- an options model (``DestinationOptions`` subclass): the rule keys it reads, with
  ElastAlert2's names, types and defaults, and ``required`` (the keys a rule naming the
  alerter must set, as ElastAlert2's ``required_options``);
- a sender (``Destination`` subclass) whose ``send`` delivers one rendered alert;
- ``KIND = DestinationKind(name, options, sender)``, listed once in
  ``rules.notify.destinations.DESTINATIONS``.

The rule model and its JSON schema take every destination's options from that registry.
Destination modules use this module's names as ``base.X``. The alert and template types
(``base.Alert``, ``base.Rendered``) are imported here for type checking only: the rule
model imports the registry, so a destination cannot import the rule model back.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, TypeVar
from urllib.parse import urlsplit

import aiohttp
import yaml
from pydantic import BaseModel, ConfigDict

from bitacora.fields import lookup
from bitacora.rules.notify.retry import DestinationError, is_permanent, parse_retry_after
from bitacora.rules.notify.transport import DIRECT, Transport
from bitacora.settings import Settings

if TYPE_CHECKING:  # for the destination modules' annotations (``base.Alert``)
    from bitacora.rules.alerts import Alert as Alert
    from bitacora.rules.notify.templates import Rendered as Rendered


# (option suffix, Transport.of argument); Telegram says proxy_pass, Discord proxy_password.
_TRANSPORT_OPTIONS: Final = (
    ("timeout", "timeout_s"),
    ("ca_certs", "ca_certs"),
    ("ignore_ssl_errors", "ignore_ssl_errors"),
    ("proxy", "proxy"),
    ("proxy_login", "proxy_login"),
    ("proxy_pass", "proxy_password"),
    ("proxy_password", "proxy_password"),
)


class DestinationOptions(BaseModel):
    """A destination's rule options; every field needs a default (a rule may not use it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: ClassVar[tuple[str, ...]] = ()
    # Options naming a file relative to the rule's folder (ElastAlert2's account files).
    rule_relative: ClassVar[tuple[str, ...]] = ()

    # The prefix of the ElastAlert2 transport options this destination declares, e.g.
    # "slack_" for slack_timeout, slack_ca_certs, ... (None: it has none).
    transport_prefix: ClassVar[str | None] = None

    def transport(self) -> Transport:
        """How the destination reaches its server: from whichever of its
        ``<transport_prefix>`` + ``timeout``, ``ca_certs``, ``ignore_ssl_errors``,
        ``proxy``, ``proxy_login``, ``proxy_pass``/``proxy_password`` options it declares."""
        prefix = self.transport_prefix
        if prefix is None:
            return DIRECT
        declared = type(self).model_fields
        return Transport.of(
            **{
                argument: getattr(self, prefix + option)
                for option, argument in _TRANSPORT_OPTIONS
                if prefix + option in declared
            }
        )


OptionsT = TypeVar("OptionsT", bound=DestinationOptions)


class Destination(Generic[OptionsT]):
    """Sends one rendered alert somewhere; raises ``DestinationError`` on failure.

    One instance serves every rule; the rule's options come with each call.
    """

    resolves: ClassVar[bool] = False  # does it take resolve notices?

    def __init__(self, session: aiohttp.ClientSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def send(self, alert: Alert, options: OptionsT, rendered: Rendered) -> None:
        """Deliver ``alert`` once (retries are the caller's)."""
        raise NotImplementedError


@dataclass(frozen=True)
class DestinationKind(Generic[OptionsT]):
    """A destination's registry entry: the alerter name rules use, its options, its sender."""

    name: str
    options: type[OptionsT]
    sender: type[Destination[OptionsT]]


class NoOptions(DestinationOptions):
    """A destination that reads no rule option."""


MISSING = "<MISSING VALUE>"  # ElastAlert2's text for a field the match does not have


_FIELD_REF = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def fill(template: str, values: Mapping[str, Any]) -> str:
    """ElastAlert2's ``template.format(**match)``: ``{field}`` names a field of the match
    (dotted names too), ``{{``/``}}`` are braces; a missing field reads ``<MISSING VALUE>``."""

    def value(found: re.Match[str]) -> str:
        text = found.group(0)
        if text in ("{{", "}}"):
            return text[0]
        got = lookup(values, found.group(1))
        return MISSING if got is None else str(got)

    return _FIELD_REF.sub(value, template)


def match_of(alert: Alert) -> dict[str, Any]:
    """The match as ElastAlert2 alerters see it: the event's fields plus the rule type's
    extras (``spike_count``, ``new_value``…)."""
    match: dict[str, Any] = dict(alert.event)
    match.update(alert.extra)
    return match


def looked_up_facts(alert: Alert, facts: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Copies of ``facts`` whose ``value`` names a match field, replaced by its value (kept
    as written where the match has no such field), as ElastAlert2 fills them."""
    match = match_of(alert)
    out = []
    for fact in facts:
        value = lookup(match, fact.get("value", ""))
        out.append({**fact, "value": fact.get("value") if value is None else value})
    return out


async def post_to_each(
    session: aiohttp.ClientSession,
    urls: list[str] | None,
    payload: dict[str, Any],
    channels: list[str] | None = None,
    transport: Transport = DIRECT,
) -> None:
    """POST ``payload`` to every URL, once per channel (as its ``channel``) when channel
    overrides are given; the first failure raises."""
    bodies = [{**payload, "channel": channel} for channel in channels] if channels else [payload]
    for url in urls or []:
        for body in bodies:
            await post_json(session, url, body, transport=transport)


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The ``Authorization`` header of HTTP basic authentication."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def read_account_file(path: str, owner: str) -> tuple[str, str]:
    """``user`` and ``password`` of an ElastAlert2 account file (YAML); ``owner`` names the
    destination in errors. Read at each send, so a rotated password applies at once."""
    try:
        account = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DestinationError(f"{owner} account file unreadable: {type(exc).__name__}") from exc
    if not isinstance(account, dict) or not {"user", "password"} <= set(account):
        raise DestinationError(f"{owner} account file needs user and password", permanent=True)
    return str(account["user"]), str(account["password"])


def shown_url(url: str) -> str:
    """A URL safe for messages: webhook paths and queries hold secrets, so only the host."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    payload: Any,
    headers: dict[str, str] | None = None,
    transport: Transport = DIRECT,
) -> Any:
    """POST ``payload`` as JSON and return the JSON answer (``None`` when there is none);
    non-2xx answers and network errors raise ``DestinationError``. ``transport``: the
    rule's timeout, TLS and proxy options."""
    all_headers = {"Content-Type": "application/json", "Accept": "application/json;charset=utf-8"}
    all_headers.update(headers or {})
    data = json.dumps(payload, ensure_ascii=False, default=str).encode()
    try:
        async with session.post(
            url, data=data, headers=all_headers, **transport.request_options(url)
        ) as response:
            raw = await response.read()
            if response.status < 300:
                try:
                    return json.loads(raw) if raw else None
                except ValueError:
                    return None
            raise DestinationError(
                f"{shown_url(url)} answered HTTP {response.status}",
                status=response.status,
                retry_after=parse_retry_after(response.headers.get("Retry-After"), time.time()),
                permanent=is_permanent(response.status),
            )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise DestinationError(f"{shown_url(url)} unreachable: {type(exc).__name__}") from exc
