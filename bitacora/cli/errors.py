"""Every failure of a ``bitacora`` command as one line and an exit code.

``describe`` is pure: it maps an exception (and the endpoints it may concern) to the line
printed after ``error:`` and the exit code. ``BitacoraCLI`` (``bitacora.cli.group``) calls it
for whatever a command raises, so no traceback reaches the terminal unless asked for.

Exit codes: 0 ok; 1 the command failed (or found problems, e.g. ``rules validate``);
2 bad input (flags, values, ``BITACORA_*`` variables, rule files, a rejected query);
3 Kafka or OpenSearch unreachable; 130 interrupted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import click
from pydantic import ValidationError

from bitacora.errors import BitacoraError, ConfigError, RuleError

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130

DEBUG_HINT = "run with --debug (or BITACORA_DEBUG=1) for the traceback"
KAFKA_HINT = (
    "is Kafka running? start the local stack with `bitacora stack up` "
    "or point BITACORA_KAFKA_BOOTSTRAP at your cluster"
)
ENV_PREFIX = "BITACORA_"
_SETTINGS_SOURCE_FIELD = re.compile(r'field "(\w+)"')


@dataclass(frozen=True)
class Endpoints:
    """Where the services are, for messages about an unreachable one."""

    kafka: str = "the configured Kafka"
    opensearch: str = "the configured OpenSearch"


@dataclass(frozen=True)
class Failure:
    """What to print (after ``error: ``; empty: nothing) and the exit code."""

    message: str
    exit_code: int


def one_line(text: str) -> str:
    """``text`` on one line: its first non-blank line, saying how many more were cut."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]} (and {len(lines) - 1} more line(s))"


def env_name(field: str) -> str:
    """The variable of a ``Settings`` field: ``forward_port`` → ``BITACORA_FORWARD_PORT``."""
    return ENV_PREFIX + field.upper()


def settings_message(exc: ValidationError) -> str:
    """Each invalid ``BITACORA_*`` variable, its value and what it expects, on one line."""
    parts = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            parts.append(f"unknown setting {field!r}")
            continue
        shown = error.get("input")
        value = f"={shown!r}" if isinstance(shown, str) else ""
        parts.append(f"{env_name(field)}{value}: {error['msg'].lower()}")
    return "; ".join(parts) + " (fix or unset the variable)"


def _settings_source_message(exc: Exception) -> str:
    """pydantic-settings could not decode a variable (a list or dict field wants JSON)."""
    match = _SETTINGS_SOURCE_FIELD.search(str(exc))
    name = env_name(match.group(1)) if match else "a BITACORA_* variable"
    cause = exc.__cause__
    why = f" ({cause})" if isinstance(cause, json.JSONDecodeError) else ""
    return f"{name} is not valid JSON{why}: give a JSON list or object, e.g. '[\"x\"]'"


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _is_kafka_unreachable(exc: BaseException) -> bool:
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

    return isinstance(exc, KafkaConnectionError | KafkaTimeoutError)


def _is_opensearch_unreachable(exc: BaseException) -> bool:
    from opensearchpy import exceptions as os_exc

    from bitacora.search.errors import SearchConnectionError

    return isinstance(exc, os_exc.ConnectionError | SearchConnectionError)


def _unreachable(exc: BaseException, where: Callable[[], Endpoints]) -> Failure | None:
    """A failure to reach Kafka or OpenSearch anywhere in the exception's chain."""
    from bitacora.search.errors import CONNECTION_HINT, SearchConnectionError

    for item in _causes(exc):
        if _is_kafka_unreachable(item):
            return Failure(f"cannot reach Kafka at {where().kafka}: {KAFKA_HINT}", EXIT_UNREACHABLE)
        if _is_opensearch_unreachable(item):
            # An answer with an error status says more than the generic hint.
            answered = isinstance(exc, SearchConnectionError) and "answered" in str(exc)
            text = (
                str(exc)
                if answered
                else f"cannot reach OpenSearch at {where().opensearch}: {CONNECTION_HINT}"
            )
            return Failure(one_line(text), EXIT_UNREACHABLE)
    return None


def describe(exc: BaseException, where: Callable[[], Endpoints] = Endpoints) -> Failure:
    """The one-line message and exit code of any exception a command lets escape.

    ``where`` gives the configured endpoints; it is called only for a service failure.
    Client libraries are imported only past the cheap cases (usage errors, bad settings).
    """
    if isinstance(exc, KeyboardInterrupt | click.Abort):
        return Failure("", EXIT_INTERRUPTED)
    if isinstance(exc, click.UsageError):
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        return Failure(one_line(exc.format_message()) + hint, EXIT_USAGE)
    if isinstance(exc, click.ClickException):
        return Failure(one_line(exc.format_message()), exc.exit_code)
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return Failure(settings_message(exc), EXIT_USAGE)

    from pydantic_settings import SettingsError

    if isinstance(exc, SettingsError):
        return Failure(_settings_source_message(exc), EXIT_USAGE)
    if isinstance(exc, RuleError | ConfigError):
        return Failure(one_line(str(exc)), EXIT_USAGE)
    return _service_failure(exc, where)


def _service_failure(exc: BaseException, where: Callable[[], Endpoints]) -> Failure:
    from aiokafka.errors import KafkaError
    from opensearchpy import exceptions as os_exc

    from bitacora.search.errors import BadQueryError, shorten_reason

    unreachable = _unreachable(exc, where)
    if unreachable is not None:
        return unreachable
    if isinstance(exc, BadQueryError):
        return Failure(one_line(str(exc)), EXIT_USAGE)
    if isinstance(exc, BitacoraError):
        return Failure(one_line(str(exc)) or type(exc).__name__, EXIT_FAILURE)
    if isinstance(exc, os_exc.TransportError):
        return Failure(
            f"OpenSearch at {where().opensearch} answered {exc.status_code}: "
            f"{shorten_reason(exc.info)}",
            EXIT_FAILURE,
        )
    if isinstance(exc, KafkaError):
        return Failure(f"Kafka at {where().kafka}: {one_line(str(exc))}", EXIT_FAILURE)
    if isinstance(exc, OSError):
        target = f": {exc.filename}" if exc.filename else ""
        return Failure(f"{exc.strerror or one_line(str(exc))}{target}", EXIT_FAILURE)
    text = one_line(str(exc))
    return Failure(
        f"unexpected {type(exc).__name__}{': ' + text if text else ''} ({DEBUG_HINT})",
        EXIT_FAILURE,
    )
