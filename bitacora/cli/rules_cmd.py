"""``bitacora rules validate|test``: check rule files; replay stored logs through a rule.

``test`` runs the same engine code as the detect stage (``rules.replay.run_rules_over``)
over events from OpenSearch or a JSON-lines file (``bitacora.search.replay``) and prints
the alerts the rule would have sent.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from bitacora.cli.options import output_option
from bitacora.settings import Settings


@click.group("rules")
def rules_group() -> None:
    """Check alert rules and replay stored logs through them."""


@rules_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Validate rule files (default: BITACORA_RULES_DIR, else the shipped rules).

    Every problem is printed as FILE:LINE: key 'KEY': what is wrong. Exit 1 on errors.
    """
    from bitacora.errors import RuleError
    from bitacora.rules.loader import load_rules, rules_dir_paths

    settings = Settings()
    try:
        loaded = load_rules(
            list(paths) or rules_dir_paths(settings.rules_dir),
            env=os.environ,
            destinations_file=settings.destinations_file,
        )
    except RuleError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    for item in loaded:
        click.echo(f"ok  {item.rule.name:<32} {item.rule.type:<18} {item.path}")
    click.echo(f"{len(loaded)} rule(s) valid")


@rules_group.command("test")
@click.argument("rule_spec", metavar="RULE")
@click.option(
    "--since", default="7d", show_default=True, help="Replay this far back: 30m, 24h, 7d."
)
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay this JSON-lines file of normalized events instead of OpenSearch.",
)
@output_option("table", "jsonl", deprecated_json=True)
@click.option("--no-realert", is_flag=True, help="Show every match, ignoring realert.")
def test_rule(rule_spec: str, since: str, data: Path | None, output: str, no_realert: bool) -> None:
    """Print the alerts RULE (a name or a .yaml file) would have fired over stored logs.

    With -o jsonl each alert is one JSON line and the summary goes to stderr.
    """
    from bitacora.durations import parse_duration
    from bitacora.rules.replay import run_rules_over
    from bitacora.search.client import make_client
    from bitacora.search.replay import Counted, file_events, find_rule, stored_events

    try:
        seconds = parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    settings = Settings()
    rule = find_rule(
        rule_spec,
        settings.rules_dir,
        env=os.environ,
        destinations_file=settings.destinations_file,
    )
    now = time.time()
    client = None
    if data is not None:
        events: Any = file_events(data)
    else:
        client = make_client(settings)
        events = stored_events(client, rule.filter, now - seconds, now)
    counted = Counted(events)
    try:
        alerts = run_rules_over(
            counted,
            [rule],
            now if data is None else None,
            lateness_s=settings.allowed_lateness_s,
            search_url_base=settings.search_url_base,
            apply_realert=not no_realert,
        )
    finally:
        if client is not None:
            client.close()
    for alert in alerts:
        if output == "jsonl":
            click.echo(alert.model_dump_json())
        else:
            click.echo(
                f"{alert.last_event_time}  {alert.status:<8} {alert.rule}  key={alert.key}  "
                f"count={alert.count}  first={alert.first_event_time}"
                + "".join(f"  {k}={v}" for k, v in sorted(alert.extra.items()))
            )
    click.echo(f"{len(alerts)} alert(s) from {counted.count} event(s)", err=output == "jsonl")


COMMANDS: list[click.Command] = [rules_group]
