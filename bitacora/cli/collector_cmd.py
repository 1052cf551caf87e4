"""Commands of this group (filled in by its component)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
