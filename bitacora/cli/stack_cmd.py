"""``bitacora stack up|down|status|env|reset``: the local real Kafka and OpenSearch."""

from __future__ import annotations

import sys
import time

import click

from bitacora.errors import StackError
from bitacora.settings import Settings

SERVICE_CHOICE = click.Choice(["opensearch", "kafka"])


def _echo(line: str) -> None:
    click.echo(line)
    sys.stdout.flush()


@click.group("stack")
def stack_group() -> None:
    """Real Kafka (KRaft) and OpenSearch on 127.0.0.1 without Docker.

    Downloads go to the cache dir (BITACORA_CACHE_DIR, default ~/.cache/bitacora); data, logs
    and pid files to the state dir (BITACORA_STATE_DIR, default ~/.local/state/bitacora/stack).
    Ports follow BITACORA_OPENSEARCH_URL and BITACORA_KAFKA_BOOTSTRAP.
    """


@stack_group.command("up")
@click.option("--fresh", is_flag=True, help="Stop and wipe the stack's data before starting.")
@click.option("--only", type=SERVICE_CHOICE, default=None, help="Start one service only.")
def up(fresh: bool, only: str | None) -> None:
    """Fetch, start and wait until both services are healthy (a no-op when they run)."""
    from bitacora import stack

    settings = Settings()
    started = time.monotonic()
    try:
        if only is not None:
            if fresh:
                raise click.UsageError("--fresh wipes both services; do not combine with --only")
            stack.start_service(settings, only, echo=_echo)
        else:
            stack.ensure_up(settings, echo=_echo, fresh=fresh)
    except StackError as error:
        raise click.ClickException(str(error)) from error
    _echo(f"stack up in {time.monotonic() - started:.1f} s; {stack.env_exports(settings)}")


@stack_group.command("down")
@click.option("--only", type=SERVICE_CHOICE, default=None, help="Stop one service only.")
def down(only: str | None) -> None:
    """Stop exactly the processes `stack up` started (from their pid files)."""
    from bitacora import stack

    settings = Settings()
    if only is not None:
        stack.stop_service(settings, only, echo=_echo)
    else:
        stack.stop(settings, echo=_echo)


@stack_group.command("reset")
def reset() -> None:
    """Stop both services and delete their data (downloads stay cached)."""
    from bitacora import stack

    stack.reset(Settings(), echo=_echo)


@stack_group.command("status")
def status() -> None:
    """Per service: running or stopped, pid, port, version, health. Exit 1 if one is down."""
    from bitacora import stack

    settings = Settings()
    rows = stack.status(settings)
    for row in rows:
        state = "running" if row.running else "stopped"
        health = "healthy" if row.healthy else "unhealthy" if row.running else "-"
        _echo(
            f"{row.service:<11} {state:<8} pid={row.pid or '-':<8} port={row.port:<6} "
            f"version={row.version or '-':<8} {health} {row.detail}".rstrip()
        )
    for service, path in stack.log_paths(settings).items():
        _echo(f"{service} log: {path}")
    if not all(row.running and row.healthy for row in rows):
        sys.exit(1)


@stack_group.command("env")
@click.option(
    "--secure",
    is_flag=True,
    help="Point Kafka clients at the SASL_SSL listener (SCRAM user, the stack's CA) instead.",
)
def env(secure: bool) -> None:
    """Print the `export BITACORA_…` line that points clients at the stack."""
    from bitacora import stack

    settings = Settings()
    click.echo(stack.secure_exports(settings) if secure else stack.env_exports(settings))


COMMANDS: list[click.Command] = [stack_group]
