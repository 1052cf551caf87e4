"""The flags every command spells the same way.

- ``-o/--output FORMAT``: how results are printed (``table``, ``json``, ``jsonl``, … —
  whichever the command supports). ``--json`` survives as a hidden, deprecated alias of
  ``-o jsonl`` on the commands that had it.
- ``--out-file PATH``: where a command that produces a document writes it (``-`` for
  standard output). It has no short form: ``-f`` already means ``--tail`` in ``search``.
  ``-o`` no longer names a file: given a path, it says to use ``--out-file``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def output_option(*formats: str, deprecated_json: bool = False) -> Callable[[F], F]:
    """Add ``-o/--output`` with ``formats`` (the first is the default) as ``output``.

    With ``deprecated_json`` a hidden ``--json`` flag still works as ``-o jsonl`` and warns.
    """

    def decorate(command: F) -> F:
        wrapped: Callable[..., Any] = command
        if deprecated_json:

            @functools.wraps(command)
            def with_alias(*args: Any, as_json: bool = False, **kwargs: Any) -> Any:
                if as_json:
                    click.echo("warning: --json is deprecated, use -o jsonl", err=True)
                    kwargs["output"] = "jsonl"
                return command(*args, **kwargs)

            wrapped = click.option(
                "--json", "as_json", is_flag=True, hidden=True, help="Deprecated: -o jsonl."
            )(with_alias)
        return click.option(
            "-o",
            "--output",
            type=click.Choice(formats),
            default=formats[0],
            show_default=True,
            help="Output format.",
        )(wrapped)  # type: ignore[return-value]  # click keeps the callable's signature

    return decorate


def _moved_to_out_file(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise click.UsageError(
            f"-o/--output is an output format; write to a file with --out-file {value}", ctx
        )


def out_file_option(default: Path | None, what: str) -> Callable[[F], F]:
    """Add ``--out-file PATH`` as ``out_file`` (``-`` or no value: standard output).

    A hidden ``-o/--output`` refuses with a hint, since ``-o`` means a format everywhere.
    """

    def decorate(command: F) -> F:
        shown = "" if default is None else f" [default: {default}]"
        command = click.option(
            "--out-file",
            "out_file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=default,
            help=f"Write {what} here ('-' for standard output){shown}.",
        )(command)
        return click.option(
            "-o",
            "--output",
            hidden=True,
            expose_value=False,
            callback=_moved_to_out_file,
            help="Not a file: see --out-file.",
        )(command)

    return decorate


def loglevel_option(default: str, help_text: str = "Log level.") -> Callable[[F], F]:
    """Add ``--loglevel debug|info|warning|error`` (case-insensitive) as ``loglevel``."""
    return click.option(
        "--loglevel",
        type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
        default=default,
        show_default=True,
        help=help_text,
    )
