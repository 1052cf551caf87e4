"""``bitacora alerts silence|silences|unsilence|list``.

Silences live in the compacted Kafka topic ``alerts.silences`` (see
``rules.notify.silences``): every notify worker follows it, so a silence applies within
a second on all workers and works while OpenSearch is down. Alerts are listed from
``bitacora-alerts*``.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import time
from typing import Any

import click

from bitacora import schema
from bitacora.cli.options import output_option
from bitacora.settings import Settings


@click.group("alerts")
def alerts_group() -> None:
    """Silence alerts and list what fired."""


@alerts_group.command("silence")
@click.argument("rule")
@click.option("--key", help="Only this query_key value (default: every key of the rule).")
@click.option("--for", "duration", required=True, help="How long: 30m, 2h, 1d.")
@click.option("--comment", default="", help="Why (shown in `bitacora alerts silences`).")
@click.option("--topic", default=None, hidden=True, help="Silences topic (tests).")
def silence(rule: str, key: str | None, duration: str, comment: str, topic: str | None) -> None:
    """Stop notifications of RULE (optionally one --key) for a while."""
    from bitacora.durations import parse_duration
    from bitacora.processors.alerting.silences import write_silence
    from bitacora.rules.notify.silences import SILENCES_TOPIC, new_silence

    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from exc
    settings = Settings()
    known = _rule_names(settings)
    if known is not None and rule not in known:
        click.echo(f"warning: no rule named {rule!r} in the configured rules", err=True)
    record = new_silence(rule, key, seconds, comment, time.time(), getpass.getuser())
    asyncio.run(write_silence(settings, topic or SILENCES_TOPIC, record, record["id"]))
    scope = f"key {key!r}" if key else "every key"
    click.echo(f"silenced {rule} ({scope}) until {record['until_text']}  id={record['id']}")


def _rule_names(settings: Settings) -> set[str] | None:
    """Names of the configured rules, or None when they cannot be loaded."""
    from bitacora.errors import RuleError
    from bitacora.rules.loader import load_configured_rules

    try:
        return {item.rule.name for item in load_configured_rules(settings, os.environ)}
    except RuleError:
        return None


@alerts_group.command("unsilence")
@click.argument("silence_id")
@click.option("--topic", default=None, hidden=True, help="Silences topic (tests).")
def unsilence(silence_id: str, topic: str | None) -> None:
    """Remove the silence SILENCE_ID."""
    from bitacora.processors.alerting.silences import write_silence
    from bitacora.rules.notify.silences import SILENCES_TOPIC

    asyncio.run(write_silence(Settings(), topic or SILENCES_TOPIC, None, silence_id))
    click.echo(f"removed silence {silence_id}")


@alerts_group.command("silences")
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@output_option("table", "jsonl", deprecated_json=True)
@click.option("--topic", default=None, hidden=True, help="Silences topic (tests).")
def silences(show_all: bool, output: str, topic: str | None) -> None:
    """List silences in force (soonest expiry first)."""
    from bitacora.processors.alerting.silences import read_silences
    from bitacora.rules.notify.silences import SILENCES_TOPIC, unexpired

    stored = asyncio.run(read_silences(Settings(), topic or SILENCES_TOPIC))
    now = time.time()
    shown: list[Any] = (
        sorted(stored.values(), key=lambda s: float(s.get("until", 0)))
        if show_all
        else unexpired(stored.values(), now)
    )
    as_json = output == "jsonl"
    for item in shown:
        if as_json:
            click.echo(json.dumps(item, ensure_ascii=False))
            continue
        state = "active " if float(item.get("until", 0)) > now else "expired"
        key = item.get("key") or "*"
        click.echo(
            f"{item['id']}  {state}  until {item.get('until_text', '')}  "
            f"{item['rule']}  key={key}  by {item.get('created_by') or '?'}  "
            f"{item.get('comment') or ''}".rstrip()
        )
    if not shown and not as_json:
        click.echo("no silences")


@alerts_group.command("list")
@click.option("--since", default="24h", show_default=True, help="How far back: 1h, 24h, 7d.")
@click.option("--rule", "rule_name", help="Only this rule.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="At most this many, newest first.",
)
@output_option("table", "jsonl", deprecated_json=True)
@click.option("--index", default=schema.ALERTS_PATTERN, hidden=True, help="Index pattern (tests).")
def list_alerts(since: str, rule_name: str | None, limit: int, output: str, index: str) -> None:
    """List alerts recorded in bitacora-alerts* (what fired, and what notify did)."""
    from bitacora.durations import parse_duration
    from bitacora.search.alerts import recent_alerts
    from bitacora.search.client import make_client

    try:
        start = time.time() - parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    client = make_client(Settings())
    try:
        docs = recent_alerts(client, start, rule_name, limit, index)
    finally:
        client.close()
    for doc in docs:
        if output == "jsonl":
            click.echo(json.dumps(doc, ensure_ascii=False))
            continue
        action = (doc.get("notify") or {}).get("action", "")
        click.echo(
            f"{doc.get('@timestamp', '')}  {doc.get('status', ''):<8} {action:<12} "
            f"{doc.get('rule', '')}  key={doc.get('key', '')}  count={doc.get('count', '')}"
        )
    if not docs and output != "jsonl":
        click.echo("no alerts")


COMMANDS: list[click.Command] = [alerts_group]
