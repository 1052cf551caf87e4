"""``bitacora rules validate|test``: check rule files; replay stored logs through a rule.

``test`` runs the same engine code as the detect agent (``rules.replay.run_rules_over``)
over events from OpenSearch (``logs-*``, oldest first, paged with ``search_after``) or
from a JSON-lines file, and prints the alerts the rule would have sent.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from bitacora import schema
from bitacora.errors import RuleError
from bitacora.settings import Settings

PAGE_SIZE = 2000


def _rule_paths(paths: tuple[Path, ...], settings: Settings) -> list[Path]:
    from bitacora.rules.loader import rules_dir_paths

    return list(paths) or rules_dir_paths(settings.rules_dir)


@click.group("rules")
def rules_group() -> None:
    """Check alert rules and replay stored logs through them."""


@rules_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Validate rule files (default: BITACORA_RULES_DIR, else the shipped rules).

    Every problem is printed as FILE:LINE: key 'KEY': what is wrong. Exit 1 on errors.
    """
    from bitacora.rules.loader import load_rules

    settings = Settings()
    try:
        loaded = load_rules(
            _rule_paths(paths, settings),
            env=os.environ,
            destinations_file=settings.destinations_file,
        )
    except RuleError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    for item in loaded:
        click.echo(f"ok  {item.rule.name:<32} {item.rule.type:<18} {item.path}")
    click.echo(f"{len(loaded)} rule(s) valid")


def _find_rule(spec: str, settings: Settings) -> Any:
    from bitacora.rules.loader import load_rule_file, load_rules

    path = Path(spec)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load_rule_file(path, env=os.environ)
    for item in load_rules(
        _rule_paths((), settings), env=os.environ, destinations_file=settings.destinations_file
    ):
        if item.rule.name == spec:
            return item.rule
    raise RuleError(f"no rule named {spec!r} (give a rule name or a .yaml path)")


def _data_events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError as exc:
                raise RuleError(f"{path}:{number}: not a JSON line: {exc}") from exc
            # Accept OpenSearch hits as exported by other tools, too.
            yield doc.get("_source", doc) if isinstance(doc, dict) else {}


def search_filter(clauses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rule's filter as OpenSearch query clauses, to narrow what is fetched.

    Wrappers are unwrapped and doc types dropped. Whole-value clauses on analysed text
    fields are left out: OpenSearch compares them with tokens, the engine with the value,
    so pushing them down could hide events the engine would match (it filters again).
    """
    from bitacora.rules.fields import TEXT_FIELDS

    out = []
    for clause in clauses:
        while "query" in clause and len(clause) == 1 and isinstance(clause["query"], dict):
            clause = clause["query"]
        kind, body = next(iter(clause.items()))
        if kind == "type":
            continue
        whole_value = kind in ("term", "terms", "wildcard", "prefix") and isinstance(body, dict)
        if whole_value and any(name in TEXT_FIELDS for name in body):
            continue
        out.append(clause)
    return out


def stored_events(
    settings: Settings, clauses: list[dict[str, Any]], start: float, end: float
) -> Iterator[dict[str, Any]]:
    """Events in ``logs-*`` matching the filter between ``start`` and ``end``, oldest first.

    The rule's own matcher runs again on every event, so OpenSearch only narrows the
    transfer; paging uses ``search_after`` on (@timestamp, event.id).
    """
    from bitacora.rules.durations import format_timestamp
    from bitacora.search.client import make_client

    client = make_client(settings)
    time_range = {
        "range": {"@timestamp": {"gte": format_timestamp(start), "lt": format_timestamp(end)}}
    }
    body: dict[str, Any] = {
        "size": PAGE_SIZE,
        "query": {"bool": {"filter": [*search_filter(clauses), time_range]}},
        "sort": [{"@timestamp": "asc"}, {"event.id": {"order": "asc", "missing": "_last"}}],
    }
    while True:
        page = client.search(
            index=schema.LOGS_PATTERN,
            body=body,
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )
        hits = page["hits"]["hits"]
        for hit in hits:
            yield hit["_source"]
        if len(hits) < PAGE_SIZE:
            return
        body["search_after"] = hits[-1]["sort"]


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
@click.option("--json", "as_json", is_flag=True, help="Print each alert as one JSON line.")
@click.option("--no-realert", is_flag=True, help="Show every match, ignoring realert.")
def test_rule(
    rule_spec: str, since: str, data: Path | None, as_json: bool, no_realert: bool
) -> None:
    """Print the alerts RULE (a name or a .yaml file) would have fired over stored logs."""
    from opensearchpy import exceptions as os_exc

    from bitacora.rules.durations import parse_duration
    from bitacora.rules.replay import run_rules_over

    settings = Settings()
    try:
        rule = _find_rule(rule_spec, settings)
        now = time.time()
        if data is not None:
            events: Any = _data_events(data)
        else:
            start = now - parse_duration(since)
            events = stored_events(settings, rule.filter, start, now)
        counted = _Counted(events)
        alerts = run_rules_over(
            counted,
            [rule],
            now if data is None else None,
            lateness_s=settings.allowed_lateness_s,
            search_url_base=settings.search_url_base,
            apply_realert=not no_realert,
        )
    except (RuleError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (OSError, os_exc.TransportError) as exc:
        click.echo(f"error: cannot read events: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    for alert in alerts:
        if as_json:
            click.echo(alert.model_dump_json())
        else:
            click.echo(
                f"{alert.last_event_time}  {alert.status:<8} {alert.rule}  key={alert.key}  "
                f"count={alert.count}  first={alert.first_event_time}"
                + "".join(f"  {k}={v}" for k, v in sorted(alert.extra.items()))
            )
    click.echo(f"{len(alerts)} alert(s) from {counted.count} event(s)", err=as_json)


class _Counted:
    """Counts events while passing them through."""

    def __init__(self, events: Any) -> None:
        self.events = events
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self.events:
            self.count += 1
            yield event


COMMANDS: list[click.Command] = [rules_group]
