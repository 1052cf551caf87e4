"""``bitacora setup``: create topics, index templates, the ISM policy and data streams."""

from __future__ import annotations

import asyncio

import click

from bitacora.settings import Settings


@click.command("setup", short_help="Create topics, index templates and retention (idempotent).")
@click.option(
    "--partitions",
    type=click.IntRange(min=1),
    help="partitions of new topics [BITACORA_TOPIC_PARTITIONS]",
)
@click.option(
    "--replication",
    type=click.IntRange(min=1),
    help="replication factor of new topics [BITACORA_TOPIC_REPLICATION]",
)
@click.option(
    "--retention-days",
    type=click.IntRange(min=1),
    help="days logs are kept [BITACORA_RETENTION_DAYS, default 14]",
)
def setup(partitions: int | None, replication: int | None, retention_days: int | None) -> None:
    """Idempotently create Kafka topics, index templates, the ISM policy and data streams.

    Safe to run again at any time: what exists and matches is left alone, and a second run
    reports no changes. Existing topics are never altered.
    """
    overrides = {
        key: value
        for key, value in (
            ("topic_partitions", partitions),
            ("topic_replication", replication),
            ("retention_days", retention_days),
        )
        if value is not None
    }
    settings = Settings(**overrides)  # type: ignore[arg-type]  # validated by pydantic

    from bitacora.processors.storage.setup import setup as run_setup

    report = asyncio.run(run_setup(settings, progress=click.echo))
    click.echo(
        "setup: " + (f"{len(report.changes)} change(s)" if report.changed else "nothing to change")
    )


COMMANDS: list[click.Command] = [setup]
