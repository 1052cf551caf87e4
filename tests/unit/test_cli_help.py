"""`bitacora --help` lists every command with its whole summary (none cut with "...")."""

from __future__ import annotations

import click

from bitacora.cli import main

# click's own listing width on an 80-column terminal, less the longest command name.
SUMMARY_WIDTH = 80 - 2 - 6 - 10


def test_no_command_summary_is_cut() -> None:
    ctx = click.Context(main)
    cut = {
        name: command.get_short_help_str(limit=SUMMARY_WIDTH)
        for name in main.list_commands(ctx)
        if (command := main.get_command(ctx, name)) is not None
        and command.get_short_help_str(limit=SUMMARY_WIDTH).endswith("...")
    }
    assert cut == {}
