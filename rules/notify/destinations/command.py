"""Run a command per alert (ElastAlert2's ``command`` alerter).

``command`` is a list of arguments, or a string split as a shell would split it; it never
runs through a shell, so field values cannot inject commands. ``%(field)s`` in an argument
is replaced by the match's field (ElastAlert2's ``resolve_string``; a missing field reads
``<MISSING VALUE>``). ``pipe_match_json`` writes the matches as JSON to its standard
input, ``pipe_alert_text`` the alert body; ``fail_on_non_zero_exit`` makes a non-zero exit
a failed delivery. A command running longer than ``command_timeout`` is killed.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from typing import Any

from pydantic import Field, field_validator

from bitacora.fields import lookup
from bitacora.rules.notify.destinations import base
from bitacora.rules.notify.retry import DestinationError

_FIELD = re.compile(r"%\(([^)]+)\)s")


class CommandOptions(base.DestinationOptions):
    """``command``: ElastAlert2's command options (and a timeout)."""

    required = ("command",)

    command: str | list[str] | None = None
    pipe_match_json: bool = False
    pipe_alert_text: bool = False
    fail_on_non_zero_exit: bool = False
    command_timeout: float = Field(default=60.0, gt=0)

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None and not (shlex.split(value) if isinstance(value, str) else value):
            raise ValueError("command names no program")
        return value


def command_args(options: CommandOptions, match: dict[str, Any]) -> list[str]:
    """The argument list with ``%(field)s`` filled from the match."""
    raw = options.command or []
    args = shlex.split(raw) if isinstance(raw, str) else list(raw)

    def value(found: re.Match[str]) -> str:
        got = lookup(match, found.group(1))
        return base.MISSING if got is None else str(got)

    return [_FIELD.sub(value, arg) for arg in args]


def command_input(options: CommandOptions, match: dict[str, Any], rendered: base.Rendered) -> bytes:
    """What the command reads on its standard input."""
    if options.pipe_match_json:
        return (json.dumps([match], ensure_ascii=False, default=str) + "\n").encode()
    if options.pipe_alert_text:
        return rendered.body.encode()
    return b""


class CommandDestination(base.Destination[CommandOptions]):
    """Run the rule's command once per alert."""

    async def send(
        self, alert: base.Alert, options: CommandOptions, rendered: base.Rendered
    ) -> None:
        """Start the command, feed its input, wait for it (killed after the timeout)."""
        match = base.match_of(alert)
        args = command_args(options, match)
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as exc:
            raise DestinationError(
                f"command {args[0]!r} cannot run: {type(exc).__name__}", permanent=True
            ) from exc
        try:
            await asyncio.wait_for(
                process.communicate(command_input(options, match, rendered)),
                options.command_timeout,
            )
        except TimeoutError as exc:
            process.kill()
            await process.wait()
            raise DestinationError(f"command {args[0]!r} timed out") from exc
        if options.fail_on_non_zero_exit and process.returncode:
            raise DestinationError(f"command {args[0]!r} exited {process.returncode}")


KIND = base.DestinationKind("command", CommandOptions, CommandDestination)
