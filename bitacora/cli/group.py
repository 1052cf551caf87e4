"""``BitacoraCLI``: the root command group that turns every failure into one line.

A command parses its flags, calls the application and prints; whatever it raises reaches
``BitacoraCLI.main``, which prints ``error: <one line>`` on stderr and exits with the code
``bitacora.cli.errors.describe`` gives. ``--debug`` (or ``BITACORA_DEBUG=1``) prints the
traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from bitacora.cli.errors import Endpoints, describe

DEBUG_ENV = "BITACORA_DEBUG"
# Client libraries log each failed connection attempt; without a handler of their own,
# Python's last-resort handler would print those lines next to our one-line error. Commands
# that configure logging (collector, processor) still get them through the root logger.
_CHATTY_LOGGERS = ("aiokafka", "kafka", "opensearch", "urllib3", "asyncio")


def debug_requested(args: Sequence[str], environ: dict[str, str] | os._Environ[str]) -> bool:
    """True when ``--debug`` precedes the command or ``BITACORA_DEBUG`` is set to a true value."""
    leading = []
    for arg in args:
        if not arg.startswith("-"):
            break
        leading.append(arg)
    return "--debug" in leading or environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes")


def _endpoints() -> Endpoints:
    """The configured endpoints, for messages; defaults when the settings themselves are bad."""
    from bitacora.settings import Settings

    try:
        settings = Settings()
    except Exception:  # the settings error is reported on its own
        return Endpoints()
    return Endpoints(kafka=settings.kafka_bootstrap, opensearch=settings.opensearch_url)


class BitacoraCLI(click.Group):
    """A click group whose ``main`` maps every exception to ``error: …`` and an exit code."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; in standalone mode exit with the command's code."""
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        debug = debug_requested(argv, os.environ)
        if not debug:
            for name in _CHATTY_LOGGERS:
                logger = logging.getLogger(name)
                if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
                    logger.addHandler(logging.NullHandler())
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except SystemExit:
            raise
        except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: its help is the answer
            exc.show()
            sys.exit(exc.exit_code)
        except BaseException as exc:  # every failure becomes one line
            if debug:
                traceback.print_exc()
            failure = describe(exc, _endpoints)
            if failure.message:
                click.echo(f"error: {failure.message}", err=True)
            sys.exit(failure.exit_code)
        sys.exit(result if isinstance(result, int) else 0)
