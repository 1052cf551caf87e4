"""What the console serves and where: built from Settings at the edge, passed to the app."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from bitacora import schema
from bitacora.errors import ConfigError
from bitacora.rules.notify.silences import SILENCES_TOPIC
from bitacora.settings import Settings


@dataclass(frozen=True)
class UiConfig:
    """Listening address, token and the data the console reads (patterns, silences topic)."""

    host: str = "127.0.0.1"
    port: int = 5602
    token: str | None = None
    logs_pattern: str = schema.LOGS_PATTERN
    alerts_pattern: str = schema.ALERTS_PATTERN
    deadletter_pattern: str = schema.DEADLETTER_PATTERN
    silences_topic: str = SILENCES_TOPIC
    tail_poll_s: float = 0.5
    tail_overlap_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> UiConfig:
        """The console of this deployment (``BITACORA_UI_*``)."""
        token = settings.ui_token.get_secret_value() if settings.ui_token else None
        return cls(
            host=settings.ui_host,
            port=settings.ui_port,
            token=token or None,
        )

    @property
    def url(self) -> str:
        """Where a browser on this machine opens the console."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(config: UiConfig) -> None:
    """Refuse to serve beyond loopback without a token (``ConfigError`` says what to set)."""
    if not is_loopback(config.host) and not config.token:
        raise ConfigError(
            f"the console would listen on {config.host} without a token: set "
            "BITACORA_UI_TOKEN, or BITACORA_UI_HOST=127.0.0.1 to serve this machine only"
        )
