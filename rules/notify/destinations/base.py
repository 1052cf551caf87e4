"""What a destination is: its options, its sender and its registry entry.

A destination is one module under ``rules/notify/destinations/`` that declares

- an options model (``DestinationOptions`` subclass): the rule keys it reads, with
  ElastAlert2's names, types and defaults, and ``required`` (the keys a rule naming the
  alerter must set, as ElastAlert2's ``required_options``);
- a sender (``Destination`` subclass) whose ``send`` delivers one rendered alert;
- ``KIND = DestinationKind(name, options, sender)``, listed once in
  ``rules.notify.destinations.DESTINATIONS``.

The rule model and its JSON schema take every destination's options from that registry.
Destination modules import the alert and template types only for type checking: the rule
model imports the registry, so they cannot import the rule model back.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict

from bitacora.rules.notify.retry import DestinationError, is_permanent, parse_retry_after
from bitacora.settings import Settings

if TYPE_CHECKING:
    from bitacora.rules.alerts import Alert
    from bitacora.rules.notify.templates import Rendered


class DestinationOptions(BaseModel):
    """A destination's rule options; every field needs a default (a rule may not use it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: ClassVar[tuple[str, ...]] = ()


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


def shown_url(url: str) -> str:
    """A URL safe for messages: webhook paths and queries hold secrets, so only the host."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    payload: Any,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
) -> None:
    """POST ``payload`` as JSON; non-2xx answers and network errors raise ``DestinationError``."""
    all_headers = {"Content-Type": "application/json", "Accept": "application/json;charset=utf-8"}
    all_headers.update(headers or {})
    data = json.dumps(payload, ensure_ascii=False, default=str).encode()
    try:
        async with session.post(
            url, data=data, headers=all_headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as response:
            await response.read()
            if response.status < 300:
                return
            raise DestinationError(
                f"{shown_url(url)} answered HTTP {response.status}",
                status=response.status,
                retry_after=parse_retry_after(response.headers.get("Retry-After"), time.time()),
                permanent=is_permanent(response.status),
            )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise DestinationError(f"{shown_url(url)} unreachable: {type(exc).__name__}") from exc
