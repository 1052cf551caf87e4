"""``bitacora tail`` (follow log files) and ``bitacora send`` (lines from standard input)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import IO, Any

import click

from bitacora.settings import Settings

_MULTILINE_HELP = (
    "Regex a line must match to start an event; other lines join the event before "
    "(tracebacks) [BITACORA_TAIL_MULTILINE_START]."
)


@click.command("tail")
@click.argument("paths", nargs=-1, required=True)
@click.option("--service", default=None, help="Service name [default: each file's name].")
@click.option(
    "--from-beginning",
    is_flag=True,
    default=None,
    help="Read files found at start from their beginning (default: from their end).",
)
@click.option("--multiline-start", default=None, help=_MULTILINE_HELP)
@click.option(
    "--positions",
    "positions_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Position store [default: under BITACORA_STATE_DIR/tail/].",
)
@click.option(
    "--loglevel",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="warning",
    show_default=True,
    help="Log level.",
)
def tail(
    paths: tuple[str, ...],
    service: str | None,
    from_beginning: bool | None,
    multiline_start: str | None,
    positions_file: Path | None,
    loglevel: str,
) -> None:
    """Follow log files (paths or quoted globs) and send every line to Kafka.

    Files are followed across rotation (rename-and-create and copytruncate), new files
    matching a glob are picked up, deleted ones released. Each file's position is stored
    only once Kafka holds its lines, so a restart (even after kill -9) resumes without
    losing or doubling a line. Lines are tagged `<service>.file`; the file's path is kept
    in `log.file.path`. Ctrl-C or SIGTERM stop.

    \b
    Example:  bitacora tail '/var/log/flores/*.log' --multiline-start '^\\d{4}-'
    """
    from bitacora.collector.metrics import CollectorMetrics
    from bitacora.collector.publisher import Publisher
    from bitacora.collector.tail.follower import TailConfig, TailSource

    _logging(loglevel)
    settings = Settings()
    overrides: dict[str, Any] = {"patterns": list(paths)}
    for name, value in (
        ("service", service),
        ("from_beginning", from_beginning),
        ("multiline_start", multiline_start),
        ("positions_file", positions_file),
    ):
        if value is not None:
            overrides[name] = value
    config = TailConfig.from_settings(settings, **overrides)
    metrics = CollectorMetrics()
    publisher = Publisher(settings, metrics)
    source = TailSource(config, publisher, metrics)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        await publisher.start()
        try:
            await source.start()
            await asyncio.Event().wait()  # until a signal cancels us
        finally:
            await source.stop()
            await publisher.stop()

    # A signal cancels main; positions of what Kafka holds are stored by then.
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(main())


@click.command("send")
@click.option("--service", required=True, help="Service the lines belong to (tag <service>.send).")
@click.option(
    "--file",
    "file_",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Read this file instead of standard input.",
)
@click.option("--json", "as_json", is_flag=True, help="Each line is a JSON object: its fields.")
@click.option("--multiline-start", default=None, help=_MULTILINE_HELP)
@click.option(
    "--timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to keep retrying a batch Kafka does not acknowledge.",
)
def send(
    service: str, file_: Path | None, as_json: bool, multiline_start: str | None, timeout: float
) -> None:
    """Send lines from standard input (or --file) to Kafka; exit 3 unless all are acknowledged.

    Every line gets the same guarantees as the collector's inputs (acks=all, deterministic
    event ids). With --json, a line that is not a JSON object goes to the dead letter.

    \b
    Cron:  */5 * * * * scripts/health-check.sh 2>&1 | bitacora send --service health-check
    """
    from bitacora.cli.errors import EXIT_UNREACHABLE
    from bitacora.collector.metrics import CollectorMetrics
    from bitacora.collector.publisher import Publisher
    from bitacora.collector.tail.events import check_service
    from bitacora.collector.tail.follower import compile_start
    from bitacora.collector.tail.send import SendOptions, send_stream

    _logging("critical")  # the one-line error below says what went wrong
    settings = Settings()
    options = SendOptions(
        tag=f"{check_service(service)}.send",
        as_json=as_json,
        path=str(file_.resolve()) if file_ is not None else None,
        max_line_bytes=settings.tail_max_line_bytes,
        multiline_start=compile_start(multiline_start or settings.tail_multiline_start),
        timeout_s=timeout,
    )
    metrics = CollectorMetrics()
    publisher = Publisher(settings, metrics)

    async def main(stream: IO[bytes]) -> Any:
        await publisher.start()
        try:
            read1 = getattr(stream, "read1", stream.read)
            return await send_stream(
                lambda: asyncio.to_thread(read1, 65536), publisher, metrics, options
            )
        finally:
            await publisher.stop()

    with (
        open(file_, "rb")
        if file_ is not None
        else contextlib.nullcontext(sys.stdin.buffer) as stream
    ):
        result = asyncio.run(main(stream))
    if result.deadlettered:
        click.echo(
            f"warning: {result.deadlettered} line(s) were not JSON objects "
            "(kept in the dead letter)",
            err=True,
        )
    if result.failed is not None:
        # Exit 3, as every command whose Kafka or OpenSearch did not answer.
        error = click.ClickException(
            f"stopped after {result.sent} line(s): {result.failed}; check Kafka at "
            f"{settings.kafka_bootstrap} and send the rest again"
        )
        error.exit_code = EXIT_UNREACHABLE
        raise error


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


COMMANDS: list[click.Command] = [tail, send]
