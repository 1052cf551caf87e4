"""``bitacora ui``: the web console (explore, live tail, dashboards, alerts, report)."""

from __future__ import annotations

import asyncio

import click


@click.command("ui", short_help="Serve the web console (explore, live tail, dashboards, alerts).")
@click.option("--host", help="Address to listen on (default BITACORA_UI_HOST, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default BITACORA_UI_PORT, 5602).")
def ui(host: str | None, port: int | None) -> None:
    """Serve the web console over OpenSearch and Kafka, and print its URL.

    \b
    Off loopback it needs BITACORA_UI_TOKEN (open it once with ?token=...).
    """
    from dataclasses import replace

    from bitacora.errors import BitacoraError
    from bitacora.settings import Settings
    from bitacora.ui.config import UiConfig
    from bitacora.ui.server import serve

    settings = Settings()
    config = UiConfig.from_settings(settings)
    if host is not None:
        config = replace(config, host=host)
    if port is not None:
        config = replace(config, port=port)
    # A ConfigError (exposed without a token) and Ctrl-C go to the CLI's one error handler.
    try:
        asyncio.run(serve(config, settings, lambda url: click.echo(f"console at {url}", err=True)))
    except OSError as exc:
        raise BitacoraError(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
        ) from exc


COMMANDS: list[click.Command] = [ui]
