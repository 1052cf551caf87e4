"""``bitacora retention status|apply``: the data streams' backing indices and their fate.

A thin front of ``bitacora.retention``: ``status`` prints ``retention_status``, ``apply``
runs ``apply_retention`` for clusters without ISM.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click

from bitacora import schema
from bitacora.cli.options import output_option


@click.group("retention", short_help="How long logs are kept: status, and enforce retention.")
def retention() -> None:
    """How long logs are kept: rollover and deletion of the data streams' backing indices."""


@retention.command("status")
@click.option(
    "--pattern", default=schema.LOGS_PATTERN, show_default=True, help="Data streams to show."
)
@output_option("table", "json")
def status(pattern: str, output: str) -> None:
    """Each data stream's backing indices: age, size, documents and ISM state."""
    from bitacora.retention import format_rows, retention_status, status_document
    from bitacora.search.client import make_client
    from bitacora.settings import Settings

    client = make_client(Settings())
    try:
        rows, installed = retention_status(client, pattern)
    finally:
        client.close()
    if output == "json":
        click.echo(json.dumps(status_document(rows, installed), indent=2))
        return
    for line in format_rows(rows, datetime.now(UTC), installed):
        click.echo(line)


@retention.command("apply")
@click.option("--pattern", default=schema.LOGS_PATTERN, show_default=True)
def apply(pattern: str) -> None:
    """Roll over and delete old backing indices now (for clusters without ISM)."""
    from bitacora.retention import apply_retention
    from bitacora.search.client import make_client
    from bitacora.settings import Settings

    settings = Settings()
    client = make_client(settings)
    try:
        report = apply_retention(
            client,
            pattern,
            timedelta(days=settings.retention_days),
            max_age=settings.rollover_max_age,
            max_size=settings.rollover_max_size,
        )
    finally:
        client.close()
    for stream, new_index in sorted(report.rolled_over.items()):
        click.echo(f"rolled over {stream} → {new_index}")
    for name in report.deleted:
        click.echo(f"deleted {name}")
    click.echo(f"{len(report.kept)} data streams checked, {len(report.deleted)} indices deleted")


COMMANDS: list[click.Command] = [retention]
