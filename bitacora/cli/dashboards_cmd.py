"""``bitacora dashboards render|check|import``: OpenSearch Dashboards saved objects as code."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click

from bitacora.cli.options import out_file_option


@click.group("dashboards", short_help="Render and import the OpenSearch Dashboards saved objects.")
def dashboards() -> None:
    """Render the saved objects (index patterns, searches, visualizations, dashboards)."""


@dashboards.command("render")
@out_file_option(None, "the ndjson (default: standard output)")
def render_command(out_file: Path | None) -> None:
    """Render dashboards/templates into one ndjson file for Dashboards' import."""
    from bitacora.dashboards.render import render

    text = render()
    if out_file is None or str(out_file) == "-":
        click.echo(text, nl=False)
    else:
        out_file.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(text.splitlines())} saved objects to {out_file}", err=True)


def _problems(text: str) -> list[str]:
    from bitacora.dashboards.check import check
    from bitacora.processors.storage.templates import (
        alerts_index_template,
        deadletter_index_template,
        logs_index_template,
    )
    from bitacora.settings import Settings

    settings = Settings()
    alerts = alerts_index_template(settings)
    deadletter = deadletter_index_template(settings)
    return check(
        text,
        logs_index_template(settings)["template"]["mappings"],
        {
            alerts["index_patterns"][0]: alerts["template"]["mappings"],
            deadletter["index_patterns"][0]: deadletter["template"]["mappings"],
        },
    )


@dashboards.command("check")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def check_command(file: Path | None) -> None:
    """Check saved objects (default: freshly rendered) against the index templates."""
    from bitacora.dashboards.render import render

    text = file.read_text(encoding="utf-8") if file else render()
    problems = _problems(text)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{len(text.splitlines())} saved objects ok")


@dashboards.command("import")
@click.option(
    "--url", required=True, help="OpenSearch Dashboards base URL, e.g. http://127.0.0.1:5601."
)
@click.option("--user", help="Basic auth user.")
@click.option("--password-env", metavar="VAR", help="Environment variable holding the password.")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Import this ndjson instead of rendering the templates.")  # fmt: skip
def import_command(url: str, user: str | None, password_env: str | None, file: Path | None) -> None:
    """Post the saved objects to /api/saved_objects/_import?overwrite=true."""
    from bitacora.dashboards.importer import import_saved_objects
    from bitacora.dashboards.render import render

    password = None
    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise click.BadParameter(f"${password_env} is not set", param_hint="--password-env")
    text = file.read_text(encoding="utf-8") if file else render()
    answer = asyncio.run(import_saved_objects(url, text, user=user, password=password))
    click.echo(f"imported {answer.get('successCount', 0)} saved objects into {url}")


COMMANDS: list[click.Command] = [dashboards]
