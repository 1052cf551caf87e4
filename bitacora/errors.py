"""The error hierarchy shared by every component.

Each error says whether the caller may go on (``can_continue``) and what the user should do.
"""

from __future__ import annotations


class BitacoraError(Exception):
    """Base of every error Bitácora raises on purpose."""

    can_continue: bool = False


class ConfigError(BitacoraError):
    """Invalid configuration: fatal, fix the setting it names."""


class ConnectionRefusedByPeer(ConfigError):
    """Kafka or OpenSearch answered but refused us (credentials, untrusted certificate):
    retrying cannot help, fix the connection settings it names."""


class DecodeError(BitacoraError):
    """Input that cannot be decoded: the connection or record is dropped, the rest goes on."""

    can_continue = True


class RuleError(BitacoraError):
    """An invalid alert rule: names the file, line and key."""


class StackError(BitacoraError):
    """The local Kafka/OpenSearch stack cannot be fetched, started or reached."""


class DeliveryError(BitacoraError):
    """An alert destination refused or could not be reached; the alert is kept and retried."""

    can_continue = True
