"""The ``bitacora`` command line: one entry point, one module per command group.

Each module imports its component lazily inside the command, so ``bitacora --help`` stays
fast and a component's dependencies load only when it runs. Commands parse flags, call the
application and print; ``BitacoraCLI`` turns whatever they raise into one ``error:`` line
and an exit code (``bitacora.cli.errors``).
"""

from __future__ import annotations

import click

from bitacora import __version__
from bitacora.cli import (
    alerts_cmd,
    collector_cmd,
    dashboards_cmd,
    pipeline_cmd,
    processor_cmd,
    report_cmd,
    retention_cmd,
    rules_cmd,
    search_cmd,
    setup_cmd,
    stack_cmd,
    tail_cmd,
    ui_cmd,
)
from bitacora.cli.group import BitacoraCLI


@click.group(
    cls=BitacoraCLI,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="bitacora")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    help="On failure print the traceback too [BITACORA_DEBUG=1].",
)
def main() -> None:
    """Bitácora: Flores Victoria's log pipeline.

    Collect logs (Fluentd forward :24224, HTTP :9880, OTLP :4318/:4317, syslog :5514),
    normalize them on Kafka, store them in OpenSearch, alert on error patterns as they
    stream by, and review them weekly.
    Configuration comes from BITACORA_* environment variables (see `bitacora stack env`).

    \b
    Every command prints results on stdout and failures as one `error:` line on stderr.
    Output formats: -o/--output (table, json, jsonl, …); files: --out-file PATH.
    Exit codes: 0 ok, 1 failed, 2 bad input (flags, values, BITACORA_* variables, rule
    files, a rejected query), 3 Kafka or OpenSearch unreachable, 130 interrupted.
    """


for _module in (
    stack_cmd,
    setup_cmd,
    pipeline_cmd,
    collector_cmd,
    processor_cmd,
    search_cmd,
    rules_cmd,
    alerts_cmd,
    dashboards_cmd,
    report_cmd,
    retention_cmd,
    tail_cmd,
    ui_cmd,
):
    for _command in _module.COMMANDS:
        main.add_command(_command)
