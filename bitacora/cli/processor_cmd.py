"""``bitacora processor``: run processor workers (normalize, index, alerting)."""

from __future__ import annotations

import os

import click

from bitacora.cli.options import loglevel_option
from bitacora.schema import PROCESSOR_ROLES
from bitacora.settings import Settings


@click.command("processor", short_help="Run a processor worker (normalize, index, alerting).")
@click.option(
    "--role",
    "roles",
    type=click.Choice(PROCESSOR_ROLES),
    multiple=True,
    help="Run only these stages (repeatable); default: all three. Each stage is its own "
    "consumer group, so stages scale out independently.",
)
@loglevel_option("warning", "faust/worker log level.")
def processor(roles: tuple[str, ...], loglevel: str) -> None:
    """Run a processor worker: logs.raw → normalize → OpenSearch, and the alert rules.

    Start as many workers as partitions allow; they share the work per consumer group.
    A worker is one Python process and uses one core: on a machine with several, run one
    per role (`--role normalize`, `--role index`, `--role alerting`), as `bitacora run` does.
    """
    from bitacora.processors.app import Role
    from bitacora.processors.worker import run_worker
    from bitacora.rules.loader import load_configured_rules

    settings = Settings()
    chosen = [Role(name) for name in (roles or PROCESSOR_ROLES)]
    env = dict(os.environ)
    if Role.ALERTING in chosen:
        load_configured_rules(settings, env)  # a bad rule file fails before Kafka
    run_worker(settings, chosen, loglevel=loglevel, env=env)


COMMANDS: list[click.Command] = [processor]
