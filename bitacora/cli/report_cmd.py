"""``bitacora report weekly``: the weekly review as one self-contained HTML page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from bitacora import schema
from bitacora.cli.options import out_file_option


@click.group("report")
def report() -> None:
    """Reports over the stored logs."""


@report.command("weekly")
@click.option(
    "--week",
    "week_text",
    metavar="YYYY-Www",
    help="ISO week to review, e.g. 2026-W48 (default: the last complete week).",
)
@out_file_option(Path("report.html"), "the page")
@click.option("--index", default=schema.LOGS_PATTERN, show_default=True, help="Logs index pattern.")
@click.option("--alerts-index", default=schema.ALERTS_PATTERN, show_default=True)
@click.option("--deadletter-index", default=schema.DEADLETTER_PATTERN, show_default=True)
def weekly(
    week_text: str | None, out_file: Path, index: str, alerts_index: str, deadletter_index: str
) -> None:
    """Events and errors per service against the previous week, top error types, new error
    patterns (drain3), alerts and time to resolve, ingest lag, dead letters and endpoints.
    Progress goes to stderr."""
    from bitacora.dashboards.report.collect import ReportIndices, build_report
    from bitacora.dashboards.report.model import Week
    from bitacora.dashboards.report.render import render_html
    from bitacora.search.client import make_client, translated_errors
    from bitacora.settings import Settings

    now = datetime.now(UTC)
    try:
        week = Week.parse(week_text) if week_text else Week.last_complete(now)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from exc
    settings = Settings()
    client = make_client(settings, timeout=120.0)
    click.echo(f"weekly review {week.label} from {settings.opensearch_url}", err=True)
    try:
        with translated_errors(settings.opensearch_url):
            result = build_report(
                client,
                week,
                indices=ReportIndices(logs=index, alerts=alerts_index, deadletter=deadletter_index),
                progress=lambda line: click.echo(f"  {line}", err=True),
                now=now,
                health_services=tuple(settings.health_check_services),
            )
    finally:
        client.close()
    html = render_html(result)
    if str(out_file) == "-":
        click.echo(html, nl=False)
    else:
        out_file.write_text(html, encoding="utf-8")
        click.echo(f"wrote {out_file}", err=True)


COMMANDS: list[click.Command] = [report]
