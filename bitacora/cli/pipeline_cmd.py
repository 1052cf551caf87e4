"""``bitacora run`` (the main job) and ``bitacora demo`` (simulated shop traffic)."""

from __future__ import annotations

import sys

import click

from bitacora.settings import Settings


@click.command("run", short_help="Run the whole pipeline here, with live status and the console.")
@click.option(
    "--demo/--no-demo", default=False, help="Also send simulated Flores Victoria traffic."
)
@click.option("--rate", default=200, show_default=True, help="Demo events per second.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
def run(demo: bool, rate: int, duration: float | None) -> None:
    """Run the collector and the processor on this machine, with a live status line.

    Needs Kafka and OpenSearch (`bitacora stack up`) and the topics and templates
    (`bitacora setup`). Component logs go to the state directory.
    """
    from bitacora.runner import run_pipeline

    sys.exit(
        run_pipeline(Settings(), demo=demo, demo_rate=rate, duration_s=duration, out=sys.stdout)
    )


@click.command("demo", short_help="Send simulated shop traffic, error bursts included.")
@click.option("--rate", default=200, show_default=True, help="Events per second.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option(
    "--burst-every", default=60.0, show_default=True, help="Seconds between error bursts."
)
def demo(rate: int, duration: float | None, burst_every: float) -> None:
    """Send realistic traffic (5 services, nginx ingress, PostgreSQL, MongoDB) with error bursts.

    Uses the services' own client, fluent-logger, against the collector's forward port; an
    OpenTelemetry-instrumented checkout-service (OTLP/HTTP) and a node logging to syslog
    (UDP) send a tenth of the rate each.
    """
    from bitacora.demo import send_demo

    settings = Settings()
    host = "127.0.0.1" if settings.bind_host in ("0.0.0.0", "::") else settings.bind_host
    sent = send_demo(
        host,
        settings.forward_port,
        rate=rate,
        duration_s=duration,
        burst_every_s=burst_every,
        otlp_port=settings.otlp_http_port,
        syslog_port=settings.syslog_port,
    )
    click.echo(f"sent {sent} events")


COMMANDS: list[click.Command] = [run, demo]
